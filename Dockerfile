# HydroML web image: Reflex (frontend + backend on one port) with bun from npm.
#   docker compose up --build        (see docker-compose.yml for the full stack)
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/tools/node_modules/.bin:$PATH \
    REFLEX_USE_SYSTEM_BUN=1 \
    HYDROML_DATA_DIR=/data

# Node and npm from Debian only install bun: Reflex cannot download bun itself, and bun ships as an npm
# package. Reflex runs its frontend scripts with `bun --bun` because Debian's Node is older than it wants.
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
RUN npm install --prefix /opt/tools bun@1.4 \
    && npm cache clean --force \
    && bun --version

RUN useradd --create-home --uid 1000 hydroml \
    && mkdir -p /app /data \
    && chown hydroml:hydroml /app /data
WORKDIR /app

# The package is installed (non-editable) for its dependencies; the app itself runs from /app.
# README.md is optional package metadata.
COPY --chown=hydroml:hydroml pyproject.toml README.md* ./
COPY --chown=hydroml:hydroml hydroml ./hydroml
RUN pip install . \
    && rm -rf build ./*.egg-info

COPY --chown=hydroml:hydroml rxconfig.py alembic.ini ./
COPY --chown=hydroml:hydroml alembic ./alembic
COPY --chown=hydroml:hydroml assets ./assets
COPY --chown=hydroml:hydroml reflex.lock ./reflex.lock

USER hydroml
# Install the frontend packages (from reflex.lock) and build once at image build time, so starting a
# container does not download them; `reflex run --env prod` recompiles with the runtime settings.
RUN HYDROML_DATA_DIR=/tmp/build-data reflex export --frontend-only --no-zip \
    && rm -rf /tmp/build-data

VOLUME ["/data"]
EXPOSE 3000

HEALTHCHECK --interval=30s --timeout=10s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:3000/api/health', timeout=8)"]

# Migrate, create the demo account once (prints its credentials), then serve frontend + backend on 3000.
CMD ["sh", "-c", "reflex db migrate && python -m hydroml.cli demo && exec reflex run --env prod"]
