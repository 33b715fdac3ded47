from django.apps import AppConfig


class ClinicConfig(AppConfig):
    default = True
    name = "clinic"
    verbose_name = "Practice and locations"
