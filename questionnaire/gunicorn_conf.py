"""gunicorn settings: `gunicorn -c python:questionnaire.gunicorn_conf wsgi:app` (override with GUNICORN_*)."""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
worker_class = "sync"
# Requests are short; a stuck one is killed rather than left to hold a worker.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Bound request lines and headers; bodies are bounded by the app's MAX_CONTENT_LENGTH.
limit_request_line = 4094
limit_request_fields = 60
limit_request_field_size = 8190
# Recycle workers now and then so that slow leaks never build up.
max_requests = 5000
max_requests_jitter = 500
# Access log without query strings: they never carry answers, but keep logs minimal anyway.
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'
errorlog = "-"
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
