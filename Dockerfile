FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml /app/
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml','rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt
COPY . /app
# collectstatic needs a key at build time only; the real one comes from the environment.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --no-input
RUN useradd --create-home app
USER app
EXPOSE 8000
# Worker class, threads and timeout: gunicorn.conf.py (long CSV exports stream whole).
CMD ["sh", "-c", "python manage.py migrate --no-input && gunicorn -c gunicorn.conf.py config.wsgi:application"]
