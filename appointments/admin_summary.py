"""The day's picture of the queue on the staff site's index page: what is new, urgent, overdue
or waiting, open requests by how they came, and whether virus scanning works.
clinic.project.adminsite puts it into the index page's context."""

from django.conf import settings
from django.db.models import Count
from django.urls import reverse

from appointments.models import AppointmentRequest, Attachment
from appointments.staff import REQUEST_PERMISSION
from clinic.scanning import scanning_is_off


def index_context(request, site_name):
    """The summaries for staff who can see requests; None for everyone else (the index then
    shows the models only)."""
    if not request.user.has_perm(REQUEST_PERMISSION):
        return {"queue_summary": None, "source_summary": None, "scan_summary": None}
    changelist = reverse(f"{site_name}:appointments_appointmentrequest_changelist")
    return {
        "queue_summary": queue_summary(changelist),
        "source_summary": source_summary(changelist),
        "scan_summary": scan_summary(),
    }


def queue_summary(changelist):
    """New, urgent, overdue and waiting counts, each with a link to that list."""
    requests = AppointmentRequest.objects
    Status = AppointmentRequest.Status
    return [
        ("New", requests.filter(status=Status.NEW).count(), f"{changelist}?status__exact=new"),
        (
            "Urgent",
            requests.urgent().count(),
            f"{changelist}?queue=to_schedule&urgency__exact=urgent",
        ),
        ("Overdue", requests.overdue().count(), f"{changelist}?response=overdue"),
        (
            "Waiting",
            requests.filter(status=Status.WAITING).count(),
            f"{changelist}?status__exact=waiting",
        ),
    ]


def source_summary(changelist):
    """Open requests by how they came (web, phone, fax…), each with a link to that list."""
    counts = dict(
        AppointmentRequest.objects.open()
        .values_list("source")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return [
        (source.label, counts.get(source.value, 0), f"{changelist}?source__exact={source}")
        for source in AppointmentRequest.Source
    ]


def scan_summary():
    """Whether virus scanning is off on this machine, or down (a scan failed, or a file waited
    longer than a scan takes), and what waits; None while it works."""
    if scanning_is_off():
        return {"off": True}
    files = Attachment.objects
    if not files.scan_overdue().exists():
        return None
    return {
        "waiting": files.being_checked().count(),
        "failed": files.scan_failed().count(),
        "contact": settings.CLINIC_SECURITY_CONTACT,
    }
