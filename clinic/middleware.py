import time

from django.conf import settings
from django.contrib.auth import logout
from django.utils.cache import add_never_cache_headers

LOGIN_STARTED = "clinic_login_started"


class StaffSessionLimitMiddleware:
    """Log staff out 12 hours after they logged in, however active they were.

    Idle sessions end after 30 minutes on their own (SESSION_COOKIE_AGE, renewed on each
    request); this adds the absolute limit.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.COOKIES.get(settings.SESSION_COOKIE_NAME) and request.user.is_authenticated:
            started = request.session.setdefault(LOGIN_STARTED, time.time())
            if time.time() - started > settings.CLINIC_SESSION_MAX_HOURS * 3600:
                logout(request)
        return self.get_response(request)


class SecurityHeadersMiddleware:
    """Headers Django has no setting for: what the page may use, and who may embed it."""

    PERMISSIONS_POLICY = ", ".join(
        f"{feature}=()"
        for feature in (
            "accelerometer", "autoplay", "camera", "display-capture", "geolocation",
            "gyroscope", "magnetometer", "microphone", "midi", "payment", "usb",
            "browsing-topics", "interest-cohort",
        )
    )  # fmt: skip

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", self.PERMISSIONS_POLICY)
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if request.path.startswith("/admin/") and "no-store" not in response.get(
            "Cache-Control", ""
        ):
            # The staff site holds patient data: no page of it is ever kept by a browser or
            # proxy, including the few admin views Django marks cacheable.
            add_never_cache_headers(response)
        return response
