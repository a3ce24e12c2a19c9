# One image for every program: the worker by default, the API with gunicorn, migrations as a Job.
#   docker build -t app:latest .
#   docker run app:latest                                   # a worker, health on :8090
#   docker run -p 8001:8001 app:latest gunicorn -c conf/gunicorn.conf.py api.app:app
# The frontend is built in its own stage and served by the API from /app/static in production.

FROM node:20-slim AS frontend
WORKDIR /build
COPY src/frontend/package.json src/frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY src/frontend/ ./
RUN npm run build

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    APP_ENV=production \
    APP_HOME=/app \
    API_HOST=0.0.0.0 \
    STATIC_DIR=/app/static \
    WORKER_HEALTH_HOST=0.0.0.0
WORKDIR /app
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home app
COPY setup.cfg pyproject.toml README.md ./
COPY src/ ./src/
COPY python-sdk/ ./python-sdk/
COPY conf/gunicorn.conf.py ./conf/gunicorn.conf.py
RUN pip install --no-cache-dir . ./python-sdk \
    && mkdir -p /app/var /app/logs \
    && chown -R 10001:10001 /app/var /app/logs
COPY --from=frontend /build/dist ./static
USER 10001:10001
EXPOSE 8001 8090
CMD ["python", "-m", "workers.example_worker", "--health-port", "8090"]
