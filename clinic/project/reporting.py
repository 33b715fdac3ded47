"""Error reports (the 500 email to DJANGO_ADMINS) that never carry patient data, and never
flood the operators or hold up a request.

Django's own filter hides only settings and parameters marked sensitive. Here every POST value,
every local variable, the query string, uploaded file names and cookies are left out: an error
report says where the code failed, not what anybody typed.
"""

import time

from django.conf import settings
from django.utils.log import AdminEmailHandler
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from clinic.cache import count_for_an_hour

HIDDEN = "[hidden: may hold patient data]"


class PatientSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    def get_post_parameters(self, request):
        if request is None:
            return {}
        return dict.fromkeys(request.POST, HIDDEN)

    def get_traceback_frame_variables(self, request, tb_frame):
        return [(name, HIDDEN) for name in tb_frame.f_locals]

    def get_safe_request_meta(self, request):
        meta = super().get_safe_request_meta(request)
        for key in ("QUERY_STRING", "HTTP_REFERER", "HTTP_COOKIE", "RAW_URI", "REQUEST_URI"):
            if key in meta:
                meta[key] = HIDDEN
        return meta


class PatientSafeExceptionReporter(ExceptionReporter):
    def get_traceback_data(self):
        data = super().get_traceback_data()
        if self.request is not None:
            data["request_GET_items"] = [(key, HIDDEN) for key in self.request.GET]
            data["request_FILES_items"] = [(key, HIDDEN) for key in self.request.FILES]
            data["request_COOKIES_items"] = [(key, HIDDEN) for key in self.request.COOKIES]
            data["request_insecure_uri"] = self.request.path
        return data


class OutboxAdminEmailHandler(AdminEmailHandler):
    """Django's error mail to DJANGO_ADMINS, queued in the outbox and rate-limited.

    Django's own handler talks to the SMTP server inside the failing request, so a slow mail
    server ties up a worker and a burst of errors becomes a burst of mail. This one writes to
    the outbox that `send_queued_mail` delivers, and queues at most
    CLINIC_ERROR_MAILS_PER_HOUR a clock hour (counted in the shared cache, so across workers);
    the console log still has every error.
    """

    def send_mail(self, subject, message, *args, **kwargs):
        if not settings.ADMINS:
            return
        try:
            if not _within_error_mail_budget():
                return
            # Imported here: logging is configured before the apps (and post_office's models).
            from post_office import mail

            mail.send(
                [address for _name, address in settings.ADMINS],
                settings.SERVER_EMAIL,
                # The outbox's subject column holds 989 characters; a long path must not fail.
                subject=f"{settings.EMAIL_SUBJECT_PREFIX}{subject}"[:989],
                message=message,
                headers={"Auto-Submitted": "auto-generated"},
            )
        except Exception:  # noqa: BLE001, S110
            # The database or the cache may be what failed: the log line is already written,
            # and an error report must never turn into a second error.
            pass


def _within_error_mail_budget():
    # Counted per clock hour. Two workers may both count one error; a budget allows that.
    key = f"clinic:error-mails:{int(time.time() // 3600)}"
    return count_for_an_hour(key) <= settings.CLINIC_ERROR_MAILS_PER_HOUR
