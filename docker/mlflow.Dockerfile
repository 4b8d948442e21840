# MLflow tracking server + model registry for docker-compose.yml (PostgreSQL store, proxied artifacts).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN pip install "mlflow>=3.17,<4" psycopg2-binary

RUN useradd --create-home --uid 1000 mlflow \
    && mkdir -p /mlflow-artifacts \
    && chown mlflow:mlflow /mlflow-artifacts
USER mlflow
WORKDIR /home/mlflow

VOLUME ["/mlflow-artifacts"]
EXPOSE 5000

HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:5000/health', timeout=8)"]

CMD ["mlflow", "server", "--host", "0.0.0.0", "--port", "5000", \
     "--artifacts-destination", "/mlflow-artifacts", "--serve-artifacts"]
