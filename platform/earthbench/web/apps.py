from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "earthbench.web"
    label = "eb_web"
