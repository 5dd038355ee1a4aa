"""Celery app. Workers: ``celery -A earthbench worker -Q scoring`` (CPU) and
``-Q gpu`` (container runs, one job per GPU)."""

import os

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES

# The embedded broker (``sqla+sqlite://``): kombu's SQLAlchemy transport that wakes
# on a commit to the broker file instead of sleeping a second between polls
# (earthbench/broker.py). Registered before any connection resolves the prefix.
TRANSPORT_ALIASES["sqla"] = TRANSPORT_ALIASES["sqlalchemy"] = "earthbench.broker:Transport"

# Fail closed: production unless dev or test settings are chosen explicitly
# (`make demo`, pytest, .ci); production refuses to start without a real secret.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "earthbench.settings.production")

app = Celery("earthbench")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
