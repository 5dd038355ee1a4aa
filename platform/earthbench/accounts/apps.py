from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "earthbench.accounts"
    label = "accounts"
