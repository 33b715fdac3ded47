import contextlib
import logging

from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError
from django.forms import model_to_dict
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from appointments.emails import status_url
from appointments.fields import REFERRER
from appointments.forms import (
    BirthDateForm,
    PatientRequestForm,
    PhysicianReferralForm,
    RecordsForm,
    new_form_token,
)
from appointments.models import (
    AccessLog,
    AppointmentRequest,
    RecentSubmission,
    StatusLink,
    SubmissionLimitReached,
    new_reference,
)
from appointments.services import Outcome, add_records, submit_request
from appointments.steps import SEND_STEP, STEP_BY_SLUG, STEPS, Answers, StepForm, shown_answer
from clinic.cache import count_for_an_hour
from clinic.clients import client_hash
from clinic.uploads import MAX_FILES

logger = logging.getLogger(__name__)

SENT_SESSION_KEY = "appointments_sent"
SAVE_FAILED = _(
    "Something went wrong on our side and your request was not saved. Your details are still "
    "here: please send the form again in a minute (files must be chosen again), or call us."
)


EXPIRED_SESSION_KEY = "appointments_request_expired"


@never_cache
def request_appointment(request):
    """The start page of a patient's request: who can ask, what they need, emergencies."""
    context = {
        "title": gettext("Ask for an appointment"),
        "first_step": STEPS[0],
        "steps": STEPS,
        "expired": request.session.pop(EXPIRED_SESSION_KEY, False),
        "started": Answers(request.session).started,
    }
    return render(request, "appointments/request_start.html", context)


@never_cache
@sensitive_post_parameters()
def request_step(request, slug):
    """One question page. Valid answers go into the session, then on to the next page (or
    back to the check page, when changing an answer)."""
    step = STEP_BY_SLUG.get(slug)
    if step is None:
        raise Http404
    answers = Answers(request.session)
    if answers.expired:
        return _answers_expired(request, answers)
    if not answers.started:
        if step != STEPS[0]:
            # Only the pages themselves link here: the answers were there, and have gone
            # with the session (30 minutes unused) or its cookie.
            return _answers_expired(request, answers)
        answers.start()
    changing = "change" in request.GET
    if request.method == "POST" and step.slug == "files" and "remove" in request.POST:
        with contextlib.suppress(ValueError):
            answers.remove_file(int(request.POST["remove"]))
        return redirect(request.get_full_path())
    if request.method == "POST":
        form = StepForm(
            request.POST,
            request.FILES,
            step=step,
            refused_uploads=getattr(request, "refused_uploads", ()),
            kept_files=len(answers.files),
        )
        if form.is_valid():
            if step.slug == "safety" and not form.cleaned_data["no_red_flags"]:
                answers.forget_safety()
                return redirect("appointments:request_stop")
            answers.record(step, form.cleaned_data)
            if form.checked_files:
                answers.keep_files(form.checked_files)
            if request.POST.get("action") == "add":
                return redirect(request.get_full_path())
            return redirect(_after(step, changing))
    else:
        form = StepForm(initial=answers.values, step=step)
    context = {
        "title": step.title,
        "step": step,
        "form": form,
        "number": STEPS.index(step) + 1,
        "count": len(STEPS),
        "back_url": _before(step, changing),
        "files": answers.files,
        "max_files": MAX_FILES,
    }
    return render(request, "appointments/request_step.html", context)


@never_cache
def request_stop(request):
    """Where "yes, I have a warning sign" leads: what to do now, and no form."""
    context = {"title": gettext("Do not wait for this form"), "back_url": _step_url(STEPS[0])}
    return render(request, "appointments/request_stop.html", context)


@never_cache
@sensitive_post_parameters()
def request_check(request):
    """Every answer with a link to change it, the consent, and the one button that sends."""
    answers = Answers(request.session)
    if answers.expired:
        return _answers_expired(request, answers)
    if not answers.started:
        # Sent already (a double tap, a reload, back and send): the receipt, never a second
        # request.
        if request.session.get(SENT_SESSION_KEY):
            return redirect("appointments:sent")
        return _answers_expired(request, answers)
    if missing := answers.first_missing():
        return redirect(_step_url(missing))
    consent = StepForm(request.POST if request.method == "POST" else None, step=SEND_STEP)
    request_form = PatientRequestForm(
        {**answers.values, "token": answers.token, **_consent_data(consent)}
    )

    def page(extra=None, status=200):
        context = {
            "title": gettext("Check your answers"),
            "rows": _answer_rows(request_form, answers),
            "files": answers.files,
            "consent": consent,
            "request_form": request_form,
            "back_url": _step_url(STEPS[-1]),
            **(extra or {}),
        }
        return render(request, "appointments/request_check.html", context, status=status)

    if request.method != "POST":
        return page()
    if request.POST.get("website"):
        # A robot filled the field people never see: it gets what looks like success.
        answers.clear()
        return _show_sent(request, new_reference(), PatientRequestForm.source)
    if not consent.is_valid():
        return page()
    if not request_form.is_valid():
        if "token" in request_form.errors:
            # Sent within seconds of starting, or the token is spoiled: a fresh one, and the
            # page says to send again.
            answers.renew_token()
        return page()
    request_form.checked_files = answers.checked_files()
    try:
        response = _send(request, request_form, page)
    finally:
        for checked in request_form.checked_files:
            checked.content.close()
    if response.status_code == 302:
        answers.clear()
    return response


def _consent_data(consent):
    if not consent.is_bound:
        return {}
    return {name: consent.data.get(name, "") for name in SEND_STEP.fields}


def _answer_rows(form, answers):
    """The check page's rows: each step's answers, as the patient will recognise them."""
    form.is_valid()  # validated once; the cleaned answers are what is shown
    values = form.cleaned_data
    rows = []
    for step in STEPS:
        answered = [name for name in step.fields if name != "attachments"]  # files: listed apart
        for name in answered:
            field = form.fields[name]
            rows.append(
                {
                    "label": field.label,
                    "value": shown_answer(field, values.get(name)),
                    "change_url": f"{_step_url(step)}?change#id_{name}",
                    "step": step,
                    "errors": form.errors.get(name, []),
                }
            )
    return rows


def _step_url(step):
    return reverse("appointments:request_step", args=[step.slug])


def _after(step, changing):
    if changing:
        return reverse("appointments:request_check")
    following = STEPS[STEPS.index(step) + 1 :]
    return _step_url(following[0]) if following else reverse("appointments:request_check")


def _before(step, changing):
    if changing:
        return reverse("appointments:request_check")
    index = STEPS.index(step)
    return _step_url(STEPS[index - 1]) if index else reverse("appointments:request")


def _answers_expired(request, answers):
    answers.clear()
    request.session[EXPIRED_SESSION_KEY] = True
    return redirect("appointments:request")


@never_cache
@sensitive_post_parameters()
def refer_patient(request):
    # "Send another referral" (?another) opens the form with the referring office filled in
    # from the referral just sent: from the session, never from the URL.
    office = _last_referring_office(request) if "another" in request.GET else {}
    return _form_page(
        request,
        PhysicianReferralForm,
        "appointments/referral_form.html",
        title=gettext("Refer a patient"),
        initial=office,
    )


@never_cache
def sent(request):
    """The receipt: what was received, for the request named in the session, never the URL."""
    details = request.session.get(SENT_SESSION_KEY)
    if not details:
        return redirect("appointments:request")
    appointment = None
    if details.get("request_id"):
        appointment = (
            AppointmentRequest.objects.prefetch_related("attachments")
            .filter(pk=details["request_id"])
            .first()
        )
        if appointment is None:  # deleted since it was sent
            return redirect("appointments:request")
    physician = details["source"] == AppointmentRequest.Source.PHYSICIAN
    context = {
        **details,
        "title": gettext("Referral received") if physician else gettext("Request received"),
        "physician": physician,
        "appointment": appointment,
        # A robot that filled the hidden field gets a receipt without any data.
        "received_at": appointment.created_at if appointment else timezone.now(),
    }
    return render(request, "appointments/sent.html", context)


def _last_referring_office(request):
    """The referring office's fields of the referral this session just sent, or nothing: the
    same for every patient it sends."""
    details = request.session.get(SENT_SESSION_KEY) or {}
    if not details.get("request_id"):
        return {}
    referral = AppointmentRequest.objects.filter(
        pk=details["request_id"], source=AppointmentRequest.Source.PHYSICIAN
    ).first()
    return model_to_dict(referral, fields=REFERRER.names) if referral else {}


def _form_page(request, form_class, template_name, title, initial=None):
    if request.method != "POST":
        form = form_class(initial={**(initial or {}), "token": new_form_token()})
        context = {"form": form, "title": title, "filled_in": bool(initial)}
        return render(request, template_name, context)

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
        return render(request, template_name, {"form": form, "title": title})

    return _send(
        request,
        form,
        lambda extra, status=200: render(
            request,
            template_name,
            {"form": form, "title": title, **extra},
            status=status,
        ),
    )


def _send(request, form, page):
    """Send a valid form with submit_request and show the receipt; or, when nothing could be
    saved (the hourly limit, an outage), `page(extra_context, status)` with what was typed."""
    status_token = StatusLink.new_token()
    try:
        appointment, outcome = submit_request(
            form,
            lambda saved: request.build_absolute_uri(
                reverse("admin:appointments_appointmentrequest_change", args=[saved.pk])
            ),
            client_hash=client_hash(request),
            status_token=status_token,
        )
    except SubmissionLimitReached:
        # Nothing was saved. The form comes back as typed, with its token still unused, so
        # it can be sent again once the hour is over.
        extra = {"limit_reached": True, "limit": RecentSubmission.limit_for(form.source)}
        return page(extra, 429)
    except (OperationalError, InterfaceError, OSError) as error:
        # The database or the file storage failed: nothing was kept (submit_request undoes
        # it all). Say so, keep what was typed, and let the sender try again.
        logger.error("Request not saved: %s", type(error).__name__)
        form.add_error(None, ValidationError(SAVE_FAILED, code="unavailable"))
        response = page({}, 503)
        response["Retry-After"] = "30"
        return response
    # The same form sent again with changes (a reload after an edit): the first version
    # stands, and the confirmation says so rather than pretend the changes arrived. A new
    # form sent again (back and send) was folded into the first request, changes and all.
    changes_dropped = outcome is Outcome.RESENT and not form.same_as(appointment)
    if outcome is not Outcome.CREATED:
        # The first receipt showed the first link; this one gets its own.
        status_token = StatusLink.issue(appointment)
    return _show_sent(
        request,
        appointment.reference,
        appointment.source,
        request_id=appointment.pk,
        changes_dropped=changes_dropped,
        folded=outcome is Outcome.FOLDED,
        status_link=status_url(status_token),
    )


def _show_sent(
    request,
    reference,
    source,
    *,
    request_id=None,
    changes_dropped=False,
    folded=False,
    status_link=None,
):
    # The request's id, reference, flags and status link only: the session never holds what
    # the patient typed. The receipt reads the rest from the request itself.
    request.session[SENT_SESSION_KEY] = {
        "request_id": request_id,
        "reference": reference,
        "source": source,
        "changes_dropped": changes_dropped,
        "folded": folded,
        "status_link": status_link,
    }
    return redirect("appointments:sent")


@never_cache
def csrf_failure(request, reason=""):
    """The page for a form refused by the CSRF check (settings.CSRF_FAILURE_VIEW).

    Mostly the public forms: cookies blocked, or a form left open past its session. The
    reason is for developers and stays out of the page.
    """
    return render(
        request,
        "403_csrf.html",
        {"title": gettext("Your form could not be sent"), "back_url": request.path},
        status=403,
    )


STATUS_SESSION_KEY = "status_links_opened"
STATUS_RECEIVED_KEY = "status_records_received"
# Per client and hour, beside each link's own lockout: dates of birth tried, pages shown.
STATUS_CHECKS_PER_HOUR = 20
STATUS_VIEWS_PER_HOUR = 200


def _over_limit(request, kind, limit):
    """Count this client's `kind` for an hour after its last try; True past `limit`."""
    return count_for_an_hour(f"status-{kind}:{client_hash(request)}") > limit


@never_cache
@sensitive_post_parameters()
def status(request, token):
    """A request's status for whoever holds its private link and knows the date of birth."""
    link = StatusLink.find(token)
    if link is None or link.expired:
        return _status_page(request, "appointments/status_gone.html", {}, status=404)
    if _over_limit(request, "views", STATUS_VIEWS_PER_HOUR):
        return _status_page(request, "appointments/status_busy.html", {}, status=429)
    appointment = link.request
    context = {"link": link, "appointment": appointment, "for_referrer": appointment.is_referral}
    if link.locked:
        return _status_page(request, "appointments/status_locked.html", context, status=429)
    if link.pk not in request.session.get(STATUS_SESSION_KEY, []):
        return _check_birth_date(request, link, context)
    records = None
    if appointment.takes_records:
        records = RecordsForm(
            request.POST or None,
            request.FILES or None,
            refused_uploads=getattr(request, "refused_uploads", ()),
        )
        if request.method == "POST" and records.is_valid():
            saved = add_records(
                link, records.checked_files, records.cleaned_data["message"], request=request
            )
            if saved is not None:
                request.session[STATUS_RECEIVED_KEY] = len(records.checked_files)
            return redirect(request.path)
    if request.method == "GET":
        AccessLog.record(
            AccessLog.Action.STATUS_VIEW, reference=appointment.reference, request=request
        )
    context.update(
        records_form=records,
        records_received=request.session.pop(STATUS_RECEIVED_KEY, None),
        files=appointment.attachments.count(),
    )
    return _status_page(request, "appointments/status.html", context)


def _check_birth_date(request, link, context):
    form = BirthDateForm(request.POST if "date_of_birth" in request.POST else None)
    if form.is_bound:
        if _over_limit(request, "checks", STATUS_CHECKS_PER_HOUR):
            return _status_page(request, "appointments/status_busy.html", context, status=429)
        if form.is_valid():
            if link.check_birth_date(form.cleaned_data["date_of_birth"]):
                opened = request.session.get(STATUS_SESSION_KEY, [])
                request.session[STATUS_SESSION_KEY] = [*opened[-19:], link.pk]
                request.session.cycle_key()
                return redirect(request.path)
            if link.locked:
                AccessLog.record(
                    AccessLog.Action.STATUS_LOCKED,
                    reference=link.request.reference,
                    request=request,
                )
                return _status_page(request, "appointments/status_locked.html", context, 429)
            form.add_error(
                "date_of_birth",
                ValidationError(
                    ngettext(
                        "That date of birth does not match this request. %(left)s more try "
                        "before this link locks for an hour.",
                        "That date of birth does not match this request. %(left)s more tries "
                        "before this link locks for an hour.",
                        link.checks_left,
                    ),
                    params={"left": link.checks_left},
                    code="mismatch",
                ),
            )
    return _status_page(request, "appointments/status_check.html", {**context, "form": form})


def _status_page(request, template_name, context, status=200):
    context = {"title": gettext("Request status"), **context}
    response = render(request, template_name, context, status=status)
    # The link's token is in the address: never send it on to another site. ("no-referrer"
    # would also make the browser send "Origin: null" with the page's own form, which the
    # CSRF check refuses.)
    response["Referrer-Policy"] = "same-origin"
    return response
