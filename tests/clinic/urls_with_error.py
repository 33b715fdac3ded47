"""The site's URLs plus one view that fails, to see the 500 page."""

from django.urls import path

from clinic.urls import handler400, handler500, urlpatterns


def failing_view(request):
    raise RuntimeError("SECRET-DETAIL-FROM-A-TRACEBACK")


urlpatterns = [*urlpatterns, path("boom/", failing_view)]

__all__ = ["handler400", "handler500", "urlpatterns"]
