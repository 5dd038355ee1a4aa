from django.apps import AppConfig


class SubmissionsConfig(AppConfig):
    name = "earthbench.submissions"
    label = "eb_submissions"
