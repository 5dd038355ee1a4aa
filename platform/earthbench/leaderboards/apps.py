from django.apps import AppConfig


class LeaderboardsConfig(AppConfig):
    name = "earthbench.leaderboards"
    label = "eb_leaderboards"
