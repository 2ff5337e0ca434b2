"""Migration files follow the platform's naming (YYYYMMDD_HHMM_short_description.py) without
changing the revision ids that databases migrated before the rename are stamped with."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from alembic import command

ROOT = Path(__file__).resolve().parents[3]
CONVENTION = re.compile(r"^\d{8}_\d{4}_[a-z0-9_]+\.py$")
# The ids every deployed database is stamped with (and the takeover of the previous service
# continues from): renaming the files must never change them.
CHAIN = [
    "0001_courses",
    "0002_classes_and_students",
    "0003_essay_student_associations",
    "0004_inbox_and_outbox",
    "0005_lean_outbox",
]


def _project_config() -> Config:
    return Config(str(ROOT / "alembic.ini"))


def test_every_migration_file_is_named_by_the_convention() -> None:
    names = sorted(p.name for p in (ROOT / "alembic" / "versions").glob("*.py"))

    assert names, "no migrations found"
    assert [n for n in names if not CONVENTION.match(n)] == []


def test_the_revision_ids_and_their_order_are_unchanged() -> None:
    script = ScriptDirectory.from_config(_project_config())
    chain = [rev.revision for rev in reversed(list(script.walk_revisions()))]

    assert chain == CHAIN
    assert script.get_heads() == [CHAIN[-1]]


def test_a_new_revision_is_named_by_the_convention(tmp_path: Path) -> None:
    shutil.copy(ROOT / "alembic" / "script.py.mako", tmp_path / "script.py.mako")
    (tmp_path / "versions").mkdir()
    config = Config()
    config.set_main_option("script_location", str(tmp_path))
    template = _project_config().get_main_option("file_template")
    assert template is not None
    # Read back interpolated; written again, each % is escaped.
    config.set_main_option("file_template", template.replace("%", "%%"))
    config.set_main_option("timezone", "UTC")

    command.revision(config, message="add student notes", rev_id="5e1f0c2a9d3b")

    (created,) = (tmp_path / "versions").glob("*.py")
    assert CONVENTION.match(created.name), created.name
    assert created.name.endswith("_add_student_notes.py")
