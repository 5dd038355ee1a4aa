"""Celery app. Workers: ``celery -A earthbench worker -Q scoring`` (CPU) and
``-Q gpu`` (container runs, one job per GPU)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "earthbench.settings.dev")

app = Celery("earthbench")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
