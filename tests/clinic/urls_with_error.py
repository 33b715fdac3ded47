"""The site's URLs plus one view that fails, to see the 500 page."""

from django.conf.urls.i18n import i18n_patterns
from django.urls import path

from clinic.project.urls import handler400, handler500, urlpatterns


def failing_view(request):
    raise RuntimeError("SECRET-DETAIL-FROM-A-TRACEBACK")


# At /boom/ and /es/boom/, as the public pages.
urlpatterns = [
    *urlpatterns,
    *i18n_patterns(path("boom/", failing_view), prefix_default_language=False),
]

__all__ = ["handler400", "handler500", "urlpatterns"]
