"""Retention: ended requests go after REQUEST_RETENTION_DAYS with their files, leaving a trace."""

import datetime
from io import StringIO

import time_machine
from django.core.management import call_command
from django.utils import timezone

from appointments.models import AccessLog, AppointmentRequest, Attachment
from clinic.models import Location
from tests.appointments.conftest import CHANGELIST
from tests.appointments.factories import AttachmentFactory, ReferralFactory, RequestFactory


def ended(days_ago, status="closed", files=1):
    appointment = RequestFactory()
    fields = {"status": status, "closed_at": timezone.now() - datetime.timedelta(days=days_ago)}
    if status == "declined":
        fields["decline_reason"] = "Not a fit."
    else:
        fields["closed_because"] = "seen"
    AppointmentRequest.objects.filter(pk=appointment.pk).update(**fields)
    for _ in range(files):
        AttachmentFactory(request=appointment)
    return appointment


def stored(root):
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def purge(*args):
    out = StringIO()
    call_command("purge_requests", *args, stdout=out)
    return out.getvalue()


def test_purge_deletes_old_ended_requests_with_their_files(
    demo, settings, private_root, django_capture_on_commit_callbacks
):
    settings.REQUEST_RETENTION_DAYS = 30
    old_closed = ended(40, files=2)
    old_declined = ended(31, status="declined")
    recent = ended(10)
    still_open = RequestFactory()
    AttachmentFactory(request=still_open)
    AppointmentRequest.objects.filter(pk=still_open.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=400)
    )

    with django_capture_on_commit_callbacks(execute=True):
        output = purge()
    assert output == "Purged 2 requests and 3 files, and 0 files of requests never sent.\n"
    assert set(AppointmentRequest.objects.all()) == {recent, still_open}
    assert not AppointmentRequest.objects.filter(pk__in=[old_closed.pk, old_declined.pk]).exists()
    # No orphan file and no missing file: storage holds exactly the attachments left.
    assert stored(private_root) == set(Attachment.objects.values_list("file", flat=True))
    log = AccessLog.objects.get(action="purge")
    assert log.detail == "purged 2 requests and 3 files ended over 30 days ago"


def test_dry_run_counts_and_deletes_nothing(demo, settings, private_root):
    settings.REQUEST_RETENTION_DAYS = 30
    ended(40)
    before = stored(private_root)
    assert purge("--dry-run") == "Would purge 1 request and 1 file ended over 30 days ago.\n"
    assert AppointmentRequest.objects.count() == 1
    assert stored(private_root) == before
    assert not AccessLog.objects.exists()


def test_notes_and_history_go_with_the_request(
    demo, settings, private_root, django_capture_on_commit_callbacks
):
    from django.contrib.auth.models import User

    from appointments.models import Note, StatusChange

    settings.REQUEST_RETENTION_DAYS = 30
    staff = User.objects.create_user("intake1")
    appointment = RequestFactory()
    appointment.move_to("closed", by=staff, closed_because="withdrawn")
    Note.objects.create(request=appointment, text="Called.", author=staff)
    AppointmentRequest.objects.filter(pk=appointment.pk).update(
        closed_at=timezone.now() - datetime.timedelta(days=60)
    )
    with django_capture_on_commit_callbacks(execute=True):
        purge()
    assert not Note.objects.exists()
    assert not StatusChange.objects.exists()


def step(client, appointment, status, **fields):
    """One workflow step on its page in the admin, as staff take it."""
    response = client.post(f"{CHANGELIST}{appointment.pk}/step/{status}/", {"note": "", **fields})
    assert response.status_code == 302, response.context["form"].errors


def test_requests_ended_in_the_admin_are_purged_once_the_retention_period_has_passed(
    intake_client, demo, settings, private_root, django_capture_on_commit_callbacks
):
    """Every way staff end a request: declined, closed, scheduled then seen, closed as a
    duplicate. The purge finds them by what the workflow recorded, not by what a test sets."""
    settings.REQUEST_RETENTION_DAYS = 30
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        declined = RequestFactory()
        step(intake_client, declined, "declined", decline_reason="Not a fit.")
        withdrawn = RequestFactory()
        step(intake_client, withdrawn, "closed", closed_because="withdrawn")
        seen = ReferralFactory()
        visit = timezone.localtime(start + datetime.timedelta(days=2))
        main_clinic = Location.objects.get(slug="main-clinic")
        step(
            intake_client,
            seen,
            "scheduled",
            scheduled_for=visit.strftime("%Y-%m-%dT%H:%M"),
            scheduled_location=main_clinic.pk,
        )
        step(intake_client, seen, "closed", closed_because="seen")
        original, duplicate = RequestFactory(), RequestFactory()
        intake_client.post(
            f"{CHANGELIST}{duplicate.pk}/match/",
            {"other": original.reference, "action": "duplicate", "note": ""},
        )
        ended = [declined, withdrawn, seen, duplicate]
        for appointment in ended:
            appointment.refresh_from_db()
            assert appointment.status in ("declined", "closed")
            AttachmentFactory(request=appointment)

    with (
        time_machine.travel(start + datetime.timedelta(days=29), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert purge().startswith("Purged 0 requests")
    with (
        time_machine.travel(start + datetime.timedelta(days=31), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert purge().startswith("Purged 4 requests and 4 files")
    assert set(AppointmentRequest.objects.all()) == {original}
    assert stored(private_root) == set()
