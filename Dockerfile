# One image for every program: the worker by default, the API with gunicorn, migrations as a Job.
#   docker build -t app:latest .
#   docker run app:latest                                   # a worker, health on :8090
#   docker run -p 8001:8001 app:latest gunicorn -c conf/gunicorn.conf.py api.app:app
#   docker run app:latest ctl db upgrade                    # the migrations (conf/k8s/migrate-job.yaml)
# The frontend is built in its own stage and served by the API from /app/static in production.
# Build arguments, for machines that cannot pull these images (bin/image build does this with
# podman): PYTHON_BASE and NODE_BASE another base with python3 (a Debian one: no `python`, and no
# system-wide pip, hence the virtualenv), FRONTEND=prebuilt the app built beforehand into
# src/frontend/dist of the build context. A secret `pip_cert` (a CA bundle) is given to pip if present.
ARG PYTHON_BASE=python:3.11-slim
ARG NODE_BASE=node:20-slim
ARG FRONTEND=build

FROM ${NODE_BASE} AS frontend-build
WORKDIR /build
COPY src/frontend/package.json src/frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY src/frontend/ ./
RUN npm run build

FROM scratch AS frontend-prebuilt
COPY src/frontend/dist /build/dist

# A stage of this file, chosen by FRONTEND (not an image to tag).
# hadolint ignore=DL3006
FROM frontend-${FRONTEND} AS frontend

FROM ${PYTHON_BASE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/venv/bin:$PATH \
    APP_ENV=production \
    APP_HOME=/app \
    API_HOST=0.0.0.0 \
    STATIC_DIR=/app/static \
    WORKER_HEALTH_HOST=0.0.0.0 \
    REQUIRE_DATABASE_URL=true
WORKDIR /app
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home app
COPY setup.cfg pyproject.toml README.md /build/
COPY src/ /build/src/
COPY python-sdk/ /build/python-sdk/
RUN --mount=type=secret,id=pip_cert \
    if [ -f /run/secrets/pip_cert ]; then export PIP_CERT=/run/secrets/pip_cert; fi \
    && python3 -m venv /opt/venv \
    && pip install --no-cache-dir /build /build/python-sdk \
    && mkdir -p /app/var /app/logs \
    && chown -R 10001:10001 /app/var /app/logs \
    && chmod 0700 /app/var
COPY conf/gunicorn.conf.py ./conf/gunicorn.conf.py
COPY --from=frontend /build/dist ./static
USER 10001:10001
EXPOSE 8001 8090
CMD ["python", "-m", "workers.example_worker", "--health-port", "8090"]
