from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "earthbench.api"
    label = "eb_api"
