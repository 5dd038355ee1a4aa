from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "earthbench.api"
    label = "eb_api"

    def ready(self):
        from earthbench.api import schema  # noqa: F401  (registers the auth scheme)
