from django.apps import AppConfig
from django.db.backends.signals import connection_created

from clinic.text import fold


def _add_unaccent(sender, connection, **kwargs):
    """SQLite has no unaccent(): give it one in Python, so Spanish search ignores accents on
    SQLite as PostgreSQL's unaccent extension does (conditions.models.Unaccent)."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("UNACCENT", 1, fold, deterministic=True)


class ConditionsConfig(AppConfig):
    name = "conditions"
    verbose_name = "Conditions and treatments"

    def ready(self):
        connection_created.connect(_add_unaccent, dispatch_uid="conditions_unaccent")
