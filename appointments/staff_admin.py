"""Staff accounts and the login history in the admin.

Practice admins manage staff, but nobody climbs to superuser from here, nobody reads an
authenticator key, and nobody deletes the record of who logged in or failed to. Imported by
appointments/admin.py, after django.contrib.auth, django_otp and axes have registered theirs.
"""

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin
from axes.admin import AccessLogAdmin as AxesAccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog
from axes.models import AccessLog as LoginLog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from appointments.models import AccessLog

User = get_user_model()

# What only a superuser may hand out: either one opens every permission there is.
SUPERUSER_ONLY_FIELDS = ("is_superuser", "user_permissions")

for model in (User, TOTPDevice, AccessAttempt, LoginLog, AccessFailureLog):
    admin.site.unregister(model)


def _managed_by(request, user):
    """A superuser's account (and its devices) is changed by superusers only."""
    return request.user.is_superuser or user is None or not user.is_superuser


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    """Practice admins add staff and give them groups; superuser status and single permissions
    are not theirs to give, and superusers' accounts are not theirs to change."""

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        # Fields left out of the fieldsets are left out of the form: posting them does nothing.
        allowed = []
        for name, options in fieldsets:
            fields = [field for field in options["fields"] if field not in SUPERUSER_ONLY_FIELDS]
            allowed.append((name, {**options, "fields": fields}))
        return allowed

    def has_change_permission(self, request, obj=None):
        return _managed_by(request, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _managed_by(request, obj) and super().has_delete_permission(request, obj)


@admin.register(TOTPDevice)
class StaffTOTPDeviceAdmin(TOTPDeviceAdmin):
    """Who has an authenticator app, and removing a lost one. The key is shown once, by
    `manage.py enrol_totp`; here it is never shown (OTP_ADMIN_HIDE_SENSITIVE_DATA), and
    devices are not added or edited, since that form shows and sets the key."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        user = obj.user if obj else None
        return _managed_by(request, user) and super().has_delete_permission(request, obj)


class LoginHistoryAdmin:
    """Read-only for everybody, superusers included: the login history is evidence."""

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LoginLog)
class LoginLogAdmin(LoginHistoryAdmin, AxesAccessLogAdmin):
    pass


@admin.register(AccessFailureLog)
class LoginFailureAdmin(LoginHistoryAdmin, AccessFailureLogAdmin):
    pass


@admin.register(AccessAttempt)
class LockoutAdmin(LoginHistoryAdmin, AccessAttemptAdmin):
    """Current failure counts. Clearing a lockout is a deliberate, logged action; the failed
    logins themselves stay under "Access failures"."""

    actions = ["clear_lockout"]

    def has_clear_lockout_permission(self, request):
        return request.user.has_perm("axes.delete_accessattempt")

    @admin.action(description="Clear the lockout of the selected", permissions=["clear_lockout"])
    def clear_lockout(self, request, queryset):
        attempts = list(queryset)
        for attempt in attempts:
            AccessLog.record(
                AccessLog.Action.UNLOCK,
                user=request.user,
                detail=f"{attempt.username} from {attempt.ip_address}"[:200],
                request=request,
            )
        queryset.filter(pk__in=[attempt.pk for attempt in attempts]).delete()
        self.message_user(request, f"Cleared {len(attempts)} lockout(s).")
