from django.http import HttpResponse
from django.urls import path

# About 25 KB of fixed HTML, the size of a content page of the site.
PAGE = (
    "<!doctype html><html lang='en'><head><title>Floor</title></head><body><main>"
    + "<p>Fixed text standing in for a page of the site, the same for every request.</p>" * 310
    + "</main></body></html>"
).encode()


def fixed_page(request):
    return HttpResponse(PAGE)


urlpatterns = [path("", fixed_page)]
