from django.apps import AppConfig


class BenchmarksConfig(AppConfig):
    name = "earthbench.benchmarks"
    label = "eb_benchmarks"
