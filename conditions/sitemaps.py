from clinic.sitemaps import BilingualSitemap
from conditions.models import Condition, Treatment


class ConditionSitemap(BilingualSitemap):
    def items(self):
        return Condition.objects.published().only("slug", "updated_at")

    def lastmod(self, condition):
        return condition.updated_at


class TreatmentSitemap(BilingualSitemap):
    def items(self):
        return Treatment.objects.published().only("slug", "updated_at")

    def lastmod(self, treatment):
        return treatment.updated_at
