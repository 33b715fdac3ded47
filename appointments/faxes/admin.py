"""The front desk's fax pages in the request admin: upload a fax as a new request, see its
pages beside the fields read from it, correct and check them, read a failed one again."""

import io

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from appointments.encryption import DamagedFile
from appointments.faxes.intake import check_fax, read_again
from appointments.faxes.reading import UnreadableFax, page_image
from appointments.forms import FaxCheckForm, FaxUploadForm
from appointments.models import AccessLog, AppointmentRequest, FaxReading
from appointments.services import receive_fax

DOWNLOAD_PERMISSION = "appointments.download_attachment"


class FaxAdminMixin:
    """Mixed into AppointmentRequestAdmin."""

    def fax_urls(self):
        view = self.admin_site.admin_view
        return [
            path("fax/", view(self.fax_upload_view), name="appointments_fax_upload"),
            path("<int:request_id>/fax/", view(self.fax_check_view), name="appointments_fax_check"),
            path(
                "<int:request_id>/fax/page/<int:number>/",
                view(self.fax_page_view),
                name="appointments_fax_page",
            ),
            path(
                "<int:request_id>/fax/read-again/",
                view(require_POST(self.fax_read_again_view)),
                name="appointments_fax_read_again",
            ),
        ]

    def fax_upload_view(self, request):
        """A fax received on the machine or as a file, entered as a new request."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        # Bound on every POST: a post with no file at all (nothing else in it) is still a send,
        # answered with "choose the fax's file", not the empty page again.
        sent = request.method == "POST"
        form = FaxUploadForm(
            request.POST if sent else None,
            request.FILES if sent else None,
            refused_uploads=getattr(request, "refused_uploads", ()),
        )
        if sent and form.is_valid():
            (checked,) = form.checked_files
            appointment = receive_fax(checked, entered_by=request.user)
            self.message_user(
                request,
                f"The fax is {appointment.reference}. It is being read: its fields appear "
                "here for you to check in a minute or two.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(self.change_url(appointment.pk))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Upload a fax as a new request",
            "form": form,
            "media": self.media + form.media,
        }
        return TemplateResponse(
            request, "admin/appointments/appointmentrequest/fax_upload.html", context
        )

    def _fax_request(self, request, request_id, *, change):
        appointment = get_object_or_404(
            self.get_queryset(request).select_related("fax_reading__attachment"), pk=request_id
        )
        allowed = (
            self.has_change_permission(request, appointment)
            if change
            else self.has_view_or_change_permission(request, appointment)
        )
        if not allowed:
            raise PermissionDenied
        try:
            reading = appointment.fax_reading
        except FaxReading.DoesNotExist:
            raise PermissionDenied from None
        return appointment, reading

    def fax_check_view(self, request, request_id):
        """The fax's pages beside the fields read from them: correct, then confirm checked."""
        appointment, reading = self._fax_request(request, request_id, change=True)
        form = FaxCheckForm(
            request.POST or None, instance=appointment, suggestions=reading.suggestions
        )
        if request.method == "POST" and form.is_valid():
            with transaction.atomic():
                appointment = form.save()
                check_fax(appointment, by=request.user, changed=form.changed_data)
            self.message_user(
                request, f"{appointment.reference}: fax details checked.", messages.SUCCESS
            )
            return HttpResponseRedirect(self.change_url(appointment.pk))
        attachment = reading.attachment
        may_open = request.user.has_perm(DOWNLOAD_PERMISSION)
        can_see = may_open and attachment.downloadable
        pages = range(1, (attachment.pages or 1) + 1) if can_see else ()
        if can_see:
            AccessLog.record(
                AccessLog.Action.VIEW,
                user=request.user,
                reference=appointment.reference,
                detail="fax pages",
                request=request,
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Check the fax: {appointment.reference}",
            "original": appointment,
            "reading": reading,
            "form": form,
            "pages": [
                (number, reverse("admin:appointments_fax_page", args=[appointment.pk, number]))
                for number in pages
            ],
            "can_see": can_see,
            "why_not_shown": attachment.scan_message()
            if may_open
            else "Your account may not open attachments.",
            "media": self.media + form.media,
        }
        return TemplateResponse(
            request, "admin/appointments/appointmentrequest/fax_check.html", context
        )

    def fax_page_view(self, request, request_id, number):
        """One page of the fax as a PNG, for the check page: square pixels, upright."""
        _, reading = self._fax_request(request, request_id, change=False)
        attachment = reading.attachment
        if not request.user.has_perm(DOWNLOAD_PERMISSION) or not attachment.downloadable:
            raise PermissionDenied
        if not 1 <= number <= (attachment.pages or 1):
            return HttpResponse(status=404)
        try:
            attachment.check_content()  # as for every download: the SHA-256 taken on arrival
        except (DamagedFile, FileNotFoundError) as error:
            return self.refuse_download(request, attachment, error)
        try:
            with attachment.file.open("rb") as fax:
                image = page_image(fax, attachment.content_type, number)
        except UnreadableFax:
            return HttpResponse(status=404)
        output = io.BytesIO()
        image.save(output, format="PNG", optimize=False)
        response = HttpResponse(output.getvalue(), content_type="image/png")
        response["Cache-Control"] = "no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def fax_read_again_view(self, request, request_id):
        appointment, reading = self._fax_request(request, request_id, change=True)
        if reading.state == FaxReading.State.FAILED:
            read_again(reading, by=request.user)
            self.message_user(request, f"{appointment.reference}: the fax will be read again.")
        return HttpResponseRedirect(self.change_url(appointment.pk))


def fax_summary(appointment):
    """What the request page says about its fax, or None for a request that did not come by
    a fax read here."""
    try:
        reading = appointment.fax_reading
    except FaxReading.DoesNotExist:
        return None
    return {
        "reading": reading,
        "check_url": reverse("admin:appointments_fax_check", args=[appointment.pk]),
        "read_again_url": reverse("admin:appointments_fax_read_again", args=[appointment.pk]),
        "fields": [
            (AppointmentRequest._meta.get_field(name).verbose_name, suggestion["page"])
            for name, suggestion in reading.suggestions.items()
        ],
    }
