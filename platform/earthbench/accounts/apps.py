from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "earthbench.accounts"
    label = "accounts"

    def ready(self):
        from earthbench.accounts import checks  # noqa: F401  (registers the deploy check)
