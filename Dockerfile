FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml requirements.lock README.md ./
COPY config config
COPY benchmark benchmark
COPY scoring scoring
COPY attacks attacks
RUN pip install --no-cache-dir -c requirements.lock .
COPY . .
# collectstatic needs settings, and settings need a key: a throwaway one, never kept.
RUN DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    python manage.py collectstatic --noinput -v0
EXPOSE 8000
CMD ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4"]
