from django.contrib.sitemaps import Sitemap

from conditions.models import Condition, Treatment


class ConditionSitemap(Sitemap):
    def items(self):
        return Condition.objects.published().only("slug", "updated_at")

    def lastmod(self, condition):
        return condition.updated_at


class TreatmentSitemap(Sitemap):
    def items(self):
        return Treatment.objects.published().only("slug", "updated_at")

    def lastmod(self, treatment):
        return treatment.updated_at
