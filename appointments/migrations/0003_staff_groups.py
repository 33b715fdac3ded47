from django.contrib.auth.management import create_permissions
from django.db import migrations

# Who may see what. Content editors (conditions app) never see requests.
GROUPS = {
    "Intake": {
        "appointments": ["view_appointmentrequest", "change_appointmentrequest",
                         "download_attachment", "view_attachment", "add_note", "view_note",
                         "view_statuschange"],
        "clinic": ["view_location"],
    },
    "Clinician": {
        "appointments": ["view_appointmentrequest", "download_attachment", "view_attachment",
                         "view_note", "view_statuschange"],
    },
    "Practice admin": {
        "appointments": "__all__",
        "clinic": "__all__",
        "conditions": "__all__",
        "auth": ["add_user", "change_user", "view_user", "delete_user", "view_group"],
        "otp_totp": "__all__",
        "axes": ["view_accessattempt", "delete_accessattempt", "view_accesslog",
                 "view_accessfailurelog"],
        "post_office": ["view_email", "view_log"],
    },
}  # fmt: skip


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, grants in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codenames in grants.items():
            permissions = Permission.objects.filter(content_type__app_label=app_label)
            if codenames != "__all__":
                permissions = permissions.filter(codename__in=codenames)
            group.permissions.add(*permissions)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0002_accesslog_note_statuschange_and_more"),
        ("conditions", "0002_search_index_and_content_editor_group"),
        ("clinic", "0002_location_notify_emails"),
        ("otp_totp", "__latest__"),
        ("axes", "__latest__"),
        ("post_office", "__latest__"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
