import time

from django.conf import settings
from django.contrib.auth import logout

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
