from django.apps import AppConfig


class BenchmarkConfig(AppConfig):
    name = "benchmark"
    verbose_name = "MIA Arena"
    default_auto_field = "django.db.models.BigAutoField"
