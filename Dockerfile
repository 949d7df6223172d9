# syntax=docker/dockerfile:1
# VisionQA for production: `manage.py serve` (several Daphne processes on
# port 8000), to run behind nginx (compose.yaml; README, "Production").

# The page's two browser libraries (marked, DOMPurify) from package-lock.json;
# the test tools (axe-core, madge) are dev dependencies and stay out.
FROM node:22-bookworm-slim AS browser-libraries
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

# The Python dependencies from uv.lock, without the dev group, by the uv the
# Makefile pins.
FROM python:3.11-slim AS python-dependencies
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir --disable-pip-version-check uv==${UV_VERSION}
ENV UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --python /usr/local/bin/python3.11

# The interface's translations, compiled (the .mo files are not committed).
FROM python:3.11-slim AS translations
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends gettext >/dev/null \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY locale ./locale
RUN for po in locale/*/LC_MESSAGES/*.po; do msgfmt --check -o "${po%.po}.mo" "$po"; done

FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin visionqa \
    && mkdir -p /data/media \
    && chown visionqa:visionqa /data/media
WORKDIR /app
COPY --from=python-dependencies /app/.venv /app/.venv
COPY --from=browser-libraries /app/node_modules /app/node_modules
COPY . .
COPY --from=translations /app/locale ./locale
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MEDIA_ROOT=/data/media
# Static files are collected into the image; WhiteNoise serves them. The key
# only lets the settings load for this one command and is not kept.
RUN DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    python manage.py collectstatic --noinput -v0 \
    && python -m compileall -q chat visionqa
USER visionqa
EXPOSE 8000
# SIGTERM: each process finishes its replies within the shutdown grace
# (allow it: compose.yaml's stop_grace_period); SIGHUP replaces them one by one.
STOPSIGNAL SIGTERM
CMD ["python", "manage.py", "serve", "--host", "0.0.0.0", "--port", "8000", "--processes", "2"]
