from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_usernames(apps, schema_editor):
    """Copy each logged user's name onto the rows written before the log kept it."""
    AccessLog = apps.get_model("appointments", "AccessLog")
    User = apps.get_model(settings.AUTH_USER_MODEL)
    AccessLog.objects.filter(user__isnull=False, username="").update(
        username=Subquery(User.objects.filter(pk=OuterRef("user_id")).values("username")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0004_request_locations_protected"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="accesslog",
            name="references",
            field=models.TextField(
                blank=True,
                help_text="For an export: the reference of every request it contained.",
            ),
        ),
        migrations.AddField(
            model_name="accesslog",
            name="username",
            field=models.CharField(blank=True, db_index=True, max_length=150),
        ),
        migrations.AlterField(
            model_name="accesslog",
            name="action",
            field=models.CharField(
                choices=[
                    ("view", "Opened a request"),
                    ("download", "Downloaded an attachment"),
                    ("export", "Exported requests"),
                    ("purge", "Purged ended requests"),
                    ("search", "Searched requests"),
                    ("unlock", "Cleared a login lockout"),
                ],
                max_length=10,
            ),
        ),
        migrations.RunPython(fill_usernames, migrations.RunPython.noop),
    ]
