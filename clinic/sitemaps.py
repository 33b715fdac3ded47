from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from clinic.models import Location, Provider


class BilingualSitemap(Sitemap):
    """Each page at its address in every language, each naming the others (hreflang)."""

    i18n = True
    alternates = True
    x_default = True


class PageSitemap(BilingualSitemap):
    def items(self):
        return [
            "clinic:home",
            "conditions:condition_list",
            "conditions:treatment_list",
            "clinic:location_list",
            "clinic:provider_list",
            "clinic:providers",
            "clinic:privacy",
            "clinic:accessibility",
            "clinic:language_help",
            "clinic:insurance",
            "clinic:first_visit",
        ]

    def location(self, item):
        return reverse(item)


class LocationSitemap(BilingualSitemap):
    def items(self):
        return Location.objects.active()

    def lastmod(self, location):
        return location.updated_at


class ProviderSitemap(BilingualSitemap):
    def items(self):
        return Provider.objects.published()

    def lastmod(self, provider):
        return provider.updated_at
