"""The home page: what the practice treats (conditions) and who treats it (clinic's doctors), so
it lives here, above both apps."""

from django.shortcuts import render
from django.utils.translation import gettext

from clinic.models import Provider
from clinic.pagecache import cache_public_page
from conditions.models import Condition


@cache_public_page
def home(request):
    conditions = Condition.objects.published().only("name", "slug")
    return render(
        request,
        "clinic/home.html",
        {
            "title": gettext("Pain care for your spine, joints and nerves"),
            "conditions": conditions,
            "providers": Provider.objects.published(),
        },
    )
