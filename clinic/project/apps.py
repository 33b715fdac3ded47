from axes import apps as axes_apps
from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ProjectConfig(AppConfig):
    """The project's wiring as an app: it registers the deploy checks and holds load_demo."""

    name = "clinic.project"
    verbose_name = "Project"

    def ready(self):
        from clinic.project import checks  # noqa: F401  (registers the deploy checks)


class ClinicAdminConfig(admin_apps.AdminConfig):
    """Django's admin, with the clinic's site (two-factor login, the queue on the index)."""

    default = False
    default_site = "clinic.project.adminsite.ClinicAdminSite"


class StaffLoginsConfig(axes_apps.AppConfig):
    """django-axes under a name staff recognise: its "access logs" are logins to the staff
    site, not the record access log of appointments.AccessLog."""

    default = False
    verbose_name = "Staff logins"
