#!/usr/bin/env bash
# `pdm run -p services/class_management_service NAME [ARGS]`: runs the root project's script NAME
# with ARGS, from the repository root and in its environment (.venv from the root pdm.lock), so
# the seed's commands mean the same thing from either project.
set -euo pipefail
cd "$(dirname "$0")/.."
# `pdm run` activated the sub-project's (empty) virtualenv; the root project has its own.
unset VIRTUAL_ENV PDM_PROJECT_ROOT
pdm_bin="$(command -v pdm || true)"
if [[ -z "$pdm_bin" ]]; then
    make --no-print-directory -s .local/pdm-venv/bin/pdm
    pdm_bin=.local/pdm-venv/bin/pdm
fi
exec "$pdm_bin" run "$@"
