"""gunicorn's settings for the site (the Dockerfile runs ``gunicorn -c gunicorn.conf.py``).

Threaded workers (gthread): a worker's main thread keeps reporting to the arbiter while its
threads serve requests, so a long streaming response (a signed-in user's CSV export of every
pledge, minutes at a million rows) is not killed at ``timeout`` and the file is never cut
short. ``timeout`` is then how long a worker may stop answering the arbiter altogether.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
accesslog = "-"
