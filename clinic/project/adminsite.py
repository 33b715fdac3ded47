"""The staff site: Django's admin, with two-factor login for staff who can see requests or change
how patients reach the practice (appointments.staff says who). Its index page shows the day's
picture of the queue (appointments.admin_summary) and the pages due for medical review."""

import time

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.urls import reverse
from django_otp.admin import OTPAdminAuthenticationForm

from appointments.admin_summary import index_context
from appointments.staff import needs_second_factor
from clinic.project.middleware import LOGIN_STARTED
from conditions.models import Condition, Treatment


class StaffLoginForm(OTPAdminAuthenticationForm):
    """Password for everyone; a one-time code as well for staff who need a second factor."""

    otp_token = forms.CharField(
        required=False,
        label="Authentication code",
        help_text="The 6-digit code from your authenticator app. Staff who work with patient "
        "requests or the practice's contact details need it; content editors can leave it empty.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean(self):
        self.cleaned_data = super(OTPAdminAuthenticationForm, self).clean()
        user = self.get_user()
        if user is not None and needs_second_factor(user):
            if not user.totpdevice_set.filter(confirmed=True).exists():
                raise forms.ValidationError(
                    "Your account needs two-factor authentication before it can open patient "
                    "requests or change the practice's contact details. Ask the practice "
                    "administrator to enrol you (see README).",
                    code="not_enrolled",
                )
            self.clean_otp(user)
        return self.cleaned_data

    def confirm_login_allowed(self, user):
        # Only reached once the password was right, so saying why reveals nothing to a guesser.
        # Inactive accounts never get here: ModelBackend refuses them as if the password were
        # wrong, and axes counts the failure. They keep that generic message on purpose: telling
        # them apart would mean checking the password of an inactive account ourselves, a second
        # hash that only existing accounts pay (a timing hint that a username exists), and a
        # deactivated account is usually someone who left.
        super(AdminAuthenticationForm, self).confirm_login_allowed(user)
        if not user.is_staff:
            raise forms.ValidationError(
                "This account exists but has no access to the staff site yet. Ask a practice "
                "admin to give it staff status and a group.",
                code="not_staff",
            )

    def _chosen_device(self, user):
        # Staff have one authenticator app (enrol_totp replaces it), so there is nothing to
        # choose: use the user's own confirmed device.
        return super()._chosen_device(user) or user.totpdevice_set.filter(confirmed=True).first()


class ClinicAdminSite(admin.AdminSite):
    site_header = "Clinic staff"
    site_title = "Clinic staff"
    index_title = "Today"
    login_form = StaffLoginForm
    login_template = "admin/clinic_login.html"
    # The sidebar takes a third of a 1366 px screen from the queue; the index lists the models.
    enable_nav_sidebar = False

    def login(self, request, extra_context=None):
        response = super().login(request, extra_context)
        if request.method == "POST" and request.user.is_authenticated:
            # The start of the 12-hour limit (StaffSessionLimitMiddleware).
            request.session[LOGIN_STARTED] = time.time()
        return response

    def has_permission(self, request):
        if not super().has_permission(request):
            return False
        return not needs_second_factor(request.user) or request.user.is_verified()

    def index(self, request, extra_context=None):
        # The queue's counts belong to appointments.
        extra_context = {
            **(extra_context or {}),
            **index_context(request, self.name),
            "review_summary": self.review_summary(request),
        }
        return super().index(request, extra_context)

    def review_summary(self, request):
        """For editors and clinical reviewers: pages due for medical review within 30 days or
        overdue, and how many pages hold changes waiting for clinical review."""
        if not request.user.has_perm("conditions.view_condition"):
            return None
        due, waiting = [], 0
        for model in (Condition, Treatment):
            opts = model._meta
            due += [
                (page, reverse(f"{self.name}:conditions_{opts.model_name}_change", args=[page.pk]))
                for page in model.objects.review_due().select_related("approval")
            ]
            waiting += model.objects.awaiting_review().count()
        due.sort(key=lambda item: item[0].next_review_due)
        return {"due": due, "waiting": waiting}
