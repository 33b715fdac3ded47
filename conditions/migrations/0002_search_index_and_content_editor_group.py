from django.contrib.auth.management import create_permissions
from django.db import migrations

CONTENT_EDITOR = "Content editor"
# Content models only: pages, their parts, and the practice's public details. Never requests.
CONTENT_PERMISSIONS = {
    "conditions": {
        "condition": ["add", "change", "delete", "view"],
        "treatment": ["add", "change", "delete", "view"],
        "treatmentcategory": ["add", "change", "delete", "view"],
        "treatmentstep": ["add", "change", "delete", "view"],
        "faq": ["add", "change", "delete", "view"],
        "reference": ["add", "change", "delete", "view"],
        "reviewer": ["add", "change", "delete", "view"],
    },
    "clinic": {
        "practice": ["change", "view"],
        "location": ["add", "change", "delete", "view"],
        "openinghours": ["add", "change", "delete", "view"],
        "closure": ["add", "change", "delete", "view"],
    },
}


def create_content_editor_group(apps, schema_editor):
    # Permissions are normally created after all migrations; the group needs them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=CONTENT_EDITOR)
    for app_label, models in CONTENT_PERMISSIONS.items():
        for model, actions in models.items():
            group.permissions.add(
                *Permission.objects.filter(
                    content_type__app_label=app_label,
                    codename__in=[f"{action}_{model}" for action in actions],
                )
            )


def remove_content_editor_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=CONTENT_EDITOR).delete()


def create_search_indexes(apps, schema_editor):
    # Full-text search runs on PostgreSQL only; SQLite searches with LIKE and needs none.
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in ("conditions_condition", "conditions_treatment"):
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {table}_search ON {table} USING gin (search_vector)"
        )


def drop_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in ("conditions_condition", "conditions_treatment"):
        schema_editor.execute(f"DROP INDEX IF EXISTS {table}_search")


class Migration(migrations.Migration):
    dependencies = [
        ("conditions", "0001_initial"),
        ("clinic", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(create_search_indexes, drop_search_indexes),
        migrations.RunPython(create_content_editor_group, remove_content_editor_group),
    ]
