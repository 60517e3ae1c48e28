"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

from questionnaire import create_app

app = create_app()
