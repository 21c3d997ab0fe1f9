FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
# Every package, transitive ones too, at the version and with the hashes of the lock file.
COPY requirements/base.txt /app/requirements/base.txt
RUN pip install --no-cache-dir --require-hashes -r requirements/base.txt
COPY . /app
# collectstatic needs a key at build time only; the real one comes from the environment.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --no-input
RUN useradd --create-home app
USER app
EXPOSE 8000
# Worker class, threads and timeout: gunicorn.conf.py (long CSV exports stream whole).
CMD ["sh", "-c", "python manage.py migrate --no-input && gunicorn -c gunicorn.conf.py config.wsgi:application"]
