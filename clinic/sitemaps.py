from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from clinic.models import Location


class PageSitemap(Sitemap):
    def items(self):
        return [
            "clinic:home",
            "conditions:condition_list",
            "conditions:treatment_list",
            "clinic:location_list",
            "clinic:providers",
            "clinic:privacy",
            "clinic:accessibility",
        ]

    def location(self, item):
        return reverse(item)


class LocationSitemap(Sitemap):
    def items(self):
        return Location.objects.active()

    def lastmod(self, location):
        return location.updated_at
