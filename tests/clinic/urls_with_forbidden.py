"""The site's URLs plus one public view that refuses, to see the public 403 page."""

from django.core.exceptions import PermissionDenied
from django.urls import path

from clinic.project.urls import handler400, handler403, handler500, urlpatterns


def refusing_view(request):
    raise PermissionDenied


urlpatterns = [*urlpatterns, path("forbidden/", refusing_view)]

__all__ = ["handler400", "handler403", "handler500", "urlpatterns"]
