"""Celery app. Workers: ``celery -A earthbench worker -Q scoring`` (CPU) and
``-Q gpu`` (container runs, one job per GPU)."""

import os

from celery import Celery

# Fail closed: production unless dev or test settings are chosen explicitly
# (`make demo`, pytest, .ci); production refuses to start without a real secret.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "earthbench.settings.production")

app = Celery("earthbench")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
