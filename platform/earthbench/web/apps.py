from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "earthbench.web"
    label = "eb_web"

    def ready(self):
        # `manage.py runserver` (the embedded default, `make demo`) listens with a
        # backlog of 10: a burst of 50 clients saw connections dropped without a
        # response. Production runs gunicorn, which has its own (2048).
        from django.core.servers import basehttp

        basehttp.WSGIServer.request_queue_size = 256
