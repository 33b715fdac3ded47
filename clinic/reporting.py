"""Error reports (the 500 email to DJANGO_ADMINS) that never carry patient data.

Django's own filter hides only settings and parameters marked sensitive. Here every POST value,
every local variable, the query string, uploaded file names and cookies are left out: an error
report says where the code failed, not what anybody typed.
"""

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

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
