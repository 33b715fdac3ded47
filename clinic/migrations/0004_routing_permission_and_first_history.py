from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.utils import timezone

# The group appointments/migrations/0003_staff_groups.py creates. Content editors do not get
# it: who is notified and how patients reach the practice need the second factor.
PRACTICE_ADMIN = "Practice admin"


def grant_routing(apps, schema_editor):
    # Permissions are normally created after all migrations; the group needs this one now.
    app_config = apps.get_app_config("clinic")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=PRACTICE_ADMIN)
    group.permissions.add(
        Permission.objects.get(content_type__app_label="clinic", codename="change_routing")
    )


def revoke_routing(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(content_type__app_label="clinic", codename="change_routing").delete()


def record_current_details(apps, schema_editor):
    """A first history row for what exists today, so the first change shows what it replaced."""
    now = timezone.now()
    for name in ("Practice", "Location", "OpeningHours", "Closure"):
        model = apps.get_model("clinic", name)
        historical = apps.get_model("clinic", f"Historical{name}")
        fields = [field.attname for field in model._meta.concrete_fields]
        historical.objects.bulk_create(
            historical(
                **{field: getattr(row, field) for field in fields},
                history_date=now,
                history_type="+",
                history_change_reason="As it was when history began",
            )
            for row in model.objects.all()
        )


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0003_location_archived_routing_permission_history"),
        ("appointments", "0003_staff_groups"),
    ]

    operations = [
        migrations.RunPython(grant_routing, revoke_routing),
        migrations.RunPython(record_current_details, migrations.RunPython.noop),
    ]
