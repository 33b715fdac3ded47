from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path
from django.views.generic import TemplateView

from clinic import views
from clinic.sitemaps import LocationSitemap, PageSitemap

clinic_patterns = [
    path("", views.home, name="home"),
    path("locations/", views.location_list, name="location_list"),
    path("locations/<slug:slug>/", views.location_detail, name="location_detail"),
    path(
        "providers/", TemplateView.as_view(template_name="clinic/providers.html"), name="providers"
    ),
    path("privacy/", TemplateView.as_view(template_name="clinic/privacy.html"), name="privacy"),
    path(
        "accessibility/",
        TemplateView.as_view(template_name="clinic/accessibility.html"),
        name="accessibility",
    ),
    path("robots.txt", views.robots_txt, name="robots"),
    path("healthz", views.healthz, name="healthz"),
]

sitemaps = {"pages": PageSitemap, "locations": LocationSitemap}

urlpatterns = [
    path("", include((clinic_patterns, "clinic"))),
    path("sitemap.xml", sitemap, {"sitemaps": sitemaps}, name="sitemap"),
    path("admin/", admin.site.urls),
]

handler500 = "clinic.views.server_error"
