import logging

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from appointments.forms import PatientRequestForm, PhysicianReferralForm, new_form_token
from appointments.models import AppointmentRequest, new_reference
from appointments.services import submit_request
from clinic.clients import client_hash

logger = logging.getLogger(__name__)

SENT_SESSION_KEY = "appointments_sent"
SAVE_FAILED = (
    "Something went wrong on our side and your request was not saved. Your details are still "
    "here: please send the form again in a minute (files must be chosen again), or call us."
)
RATE_WINDOW_SECONDS = 60 * 60


@never_cache
@sensitive_post_parameters()
def request_appointment(request):
    return _form_page(request, PatientRequestForm, "appointments/request_form.html")


@never_cache
@sensitive_post_parameters()
def refer_patient(request):
    return _form_page(request, PhysicianReferralForm, "appointments/referral_form.html")


@never_cache
def sent(request):
    """The confirmation: the reference comes from the session, never from the URL."""
    details = request.session.get(SENT_SESSION_KEY)
    if not details:
        return redirect("appointments:request")
    return render(request, "appointments/sent.html", {"title": "Request received", **details})


def _form_page(request, form_class, template_name):
    if request.method != "POST":
        form = form_class(initial={"token": new_form_token()})
        return render(request, template_name, {"form": form, "title": _title(form_class)})

    if _over_rate_limit(request):
        return render(request, "appointments/rate_limited.html", status=429)
    if request.POST.get("website"):
        # A robot filled the field people never see: it gets what looks like success.
        return _show_sent(request, new_reference(), form_class.source)

    form = form_class(
        request.POST, request.FILES, refused_uploads=getattr(request, "refused_uploads", ())
    )
    if not form.is_valid():
        if "token" in form.errors:
            # Keep everything typed, with a fresh token, and ask to send again.
            form.data = form.data.copy()
            form.data["token"] = new_form_token()
        return render(request, template_name, {"form": form, "title": _title(form_class)})

    try:
        appointment = submit_request(
            form,
            lambda saved: request.build_absolute_uri(
                reverse("admin:appointments_appointmentrequest_change", args=[saved.pk])
            ),
        )
    except (OperationalError, InterfaceError, OSError) as error:
        # The database or the file storage failed: nothing was kept (submit_request undoes
        # it all). Say so, keep what was typed, and let the sender try again.
        logger.error("Request not saved: %s", type(error).__name__)
        form.add_error(None, ValidationError(SAVE_FAILED, code="unavailable"))
        response = render(
            request, template_name, {"form": form, "title": _title(form_class)}, status=503
        )
        response["Retry-After"] = "30"
        return response
    return _show_sent(request, appointment.reference, appointment.source)


def _show_sent(request, reference, source):
    request.session[SENT_SESSION_KEY] = {"reference": reference, "source": source}
    return redirect("appointments:sent")


def _over_rate_limit(request):
    """Count this client's posts in the shared cache, so every worker counts the same."""
    key = f"appointments:posts:{client_hash(request)}"
    cache.add(key, 0, RATE_WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, RATE_WINDOW_SECONDS)
        count = 1
    return count > settings.CLINIC_SUBMISSIONS_PER_HOUR


def _title(form_class):
    if form_class.source == AppointmentRequest.Source.PHYSICIAN:
        return "Refer a patient"
    return "Ask for an appointment"
