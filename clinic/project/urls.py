from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path
from django.views.generic import TemplateView

from clinic import views
from clinic.pagecache import cache_public_page
from clinic.project.views import home
from clinic.sitemaps import LocationSitemap, PageSitemap, ProviderSitemap
from conditions.sitemaps import ConditionSitemap, TreatmentSitemap


def public_page(template_name):
    """A page of fixed words: its template sets its title and description (base.html)."""
    return cache_public_page(TemplateView.as_view(template_name=template_name))


clinic_patterns = [
    path("", home, name="home"),
    path("locations/", views.location_list, name="location_list"),
    path("locations/<slug:slug>/", views.location_detail, name="location_detail"),
    path("doctors/", views.ProviderListView.as_view(), name="provider_list"),
    path("doctors/<slug:slug>/", views.ProviderDetailView.as_view(), name="provider_detail"),
    path("providers/", public_page("clinic/providers.html"), name="providers"),
    path("privacy/", public_page("clinic/privacy.html"), name="privacy"),
    path("accessibility/", public_page("clinic/accessibility.html"), name="accessibility"),
    path("language-help/", views.language_help, name="language_help"),
    path("insurance/", views.insurance, name="insurance"),
    path("first-visit/", views.first_visit, name="first_visit"),
]

sitemaps = {
    "pages": PageSitemap,
    "locations": LocationSitemap,
    "doctors": ProviderSitemap,
    "conditions": ConditionSitemap,
    "treatments": TreatmentSitemap,
}

urlpatterns = [
    path("robots.txt", views.robots_txt, name="robots"),
    path("healthz", views.healthz, name="healthz"),
    path("media/<path:path>", views.public_file, name="public_file"),
    path("sitemap.xml", sitemap, {"sitemaps": sitemaps}, name="sitemap"),
    path("admin/", admin.site.urls),
    # Public pages: English at their usual addresses, Spanish under /es/.
    *i18n_patterns(
        path("", include((clinic_patterns, "clinic"))),
        path("", include("conditions.urls")),
        path("appointments/", include("appointments.urls")),
        prefix_default_language=False,
    ),
]

handler400 = "clinic.views.bad_request"
handler403 = "clinic.views.permission_denied"
handler500 = "clinic.views.server_error"
