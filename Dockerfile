# HuleEdu Class Management Service image.
#
#   docker build -t huleedu-class-management .
#   docker run --rm -p 5002:5002 \
#     -e CLASS_MANAGEMENT_SERVICE_ENVIRONMENT=production \
#     -e CLASS_MANAGEMENT_SERVICE_DATABASE_URL=postgresql+asyncpg://user:pass@db:5432/huleedu_class_management \
#     huleedu-class-management
#
# The project is not an installable distribution: `libs` and `services` are import roots on
# PYTHONPATH, and only the locked third-party dependencies go into the virtual environment.
# Apply the migrations first with `python -m class_management_service migrate` (the service only
# checks the schema at startup when DATABASE_URL is set); docker-compose.yml does it in a one-shot
# service.

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------------------------------------
# builder: the locked production dependencies in /app/.venv
# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ARG PDM_VERSION=2.29.4
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PDM_CHECK_UPDATE=false \
    PDM_NON_INTERACTIVE=1

# pdm 2.29 breaks with hishel 2.x (AttributeError SyncSqliteStorage): pin hishel below 2 beside it.
RUN python -m venv /opt/pdm \
    && /opt/pdm/bin/pip install "pdm==${PDM_VERSION}" "hishel<2"

WORKDIR /app
COPY pyproject.toml pdm.lock ./
# The venv is created first so that pdm installs into it (it picks up an in-project .venv); the
# runtime stage copies it to the same path on the same base image, so its absolute paths hold.
# --prod leaves out the test and lint groups; --frozen-lockfile never re-locks; --no-self
# because there is no distribution to install.
RUN python -m venv /app/.venv \
    && /opt/pdm/bin/pdm install --prod --frozen-lockfile --no-self

# ---------------------------------------------------------------------------------------------
# runtime
# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ENV PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app/libs:/app/services \
    VIRTUAL_ENV=/app/.venv \
    PATH=/app/.venv/bin:$PATH

RUN groupadd --system --gid 10001 huleedu \
    && useradd --system --uid 10001 --gid huleedu --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin huleedu

WORKDIR /app
COPY --from=builder /app/.venv /app/.venv
# alembic.ini must sit beside alembic/, libs/ and services/: the service locates the migrations
# relative to its own source tree.
COPY alembic.ini ./
COPY alembic ./alembic
COPY libs ./libs
COPY services ./services

# Bytecode is compiled once here: the code is read-only for the runtime user. .run/ is the only
# writable directory, for the embedded PostgreSQL of a development run without DATABASE_URL.
RUN python -m compileall -q libs services alembic \
    && mkdir -p /app/.run \
    && chown huleedu:huleedu /app/.run

USER huleedu

EXPOSE 5002

# slim has no curl. /healthz answers 200 when healthy or degraded and 503 when unhealthy; urlopen
# raises on 503, which exits non-zero.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('CLASS_MANAGEMENT_SERVICE_HTTP_PORT') or '5002'; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]

# SIGTERM drains in-flight requests and stops the workers (configuration.md §6).
STOPSIGNAL SIGTERM
CMD ["python", "-m", "class_management_service", "serve"]
