import json

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from clinic import models as clinic_models
from clinic.models import RedFlagTier, red_flag_tiers

register = template.Library()

# As django.utils.html.json_script: nothing in the data can close the script element.
_JSON_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@register.simple_tag
def json_ld(data):
    """Structured data for search engines. Not executed, so the CSP does not apply to it."""
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False).translate(_JSON_ESCAPES)
    return mark_safe(f'<script type="application/ld+json">{text}</script>')  # noqa: S308


@register.simple_tag(takes_context=True)
def practice_json_ld(context):
    """The practice for search engines (home page): name, site, logo, and every location as
    a department with its address, phone and hours."""
    request, site = context["request"], context["site"]
    practice = site.practice
    if practice is None:
        return ""
    today = timezone.localdate()
    departments = []
    for location in site.locations:
        department = location.structured_data(practice, today)
        del department["@context"]
        department["url"] = request.build_absolute_uri(location.get_absolute_url())
        departments.append(department)
    data = {
        "@context": "https://schema.org",
        "@type": "MedicalOrganization",
        "name": practice.name,
        "url": request.build_absolute_uri(reverse("clinic:home")),
        "logo": request.build_absolute_uri(static("img/logo.png")),
        "telephone": practice.phone.as_e164,
        "faxNumber": practice.fax.as_e164,
        "email": practice.email,
        "department": departments,
    }
    return json_ld(data)


@register.filter
def tel_href(number):
    """A phone number as a tel: link target (E.164), or an empty string."""
    return f"tel:{number.as_e164}" if number else ""


@register.filter(expects_localtime=True)
def us_time(value, day_format=""):
    """Every time the public reads: "8:30 AM", "4 PM" (clinic.models.us_time).

    A datetime is shown in the practice's time zone; with a date format, the day comes first:
    `{{ due|us_time:"l, F j" }}` is "Tuesday, November 17, 4:30 PM". Empty for no time.
    """
    if value in (None, ""):
        return ""
    time = clinic_models.us_time(value)
    return f"{date_format(value, day_format)}, {time}" if day_format else time


@register.filter
def status_now(location):
    """A location's open or closed status at this moment, worded for the public."""
    return location.status_at(timezone.now())


@register.inclusion_tag("includes/breadcrumbs.html", takes_context=True)
def breadcrumb_trail(context, trail):
    """Breadcrumbs after "Home": (name, url) pairs, the last (the current page) with no url,
    or just the current page's name (a page right under "Home", named in its template).

    Rendered as a navigation list and as schema.org BreadcrumbList data.
    """
    request = context["request"]
    if isinstance(trail, str):
        trail = [(trail, None)]
    crumbs = [(_("Home"), reverse("clinic:home")), *trail]
    data = {
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": [
            {
                "@type": "ListItem",
                "position": number,
                "name": str(name),
                "item": request.build_absolute_uri(str(url) if url else request.path),
            }
            for number, (name, url) in enumerate(crumbs, start=1)
        ],
    }
    return {"crumbs": crumbs, "structured_data": data}


# Fewer sections than this fit on a phone's first screens: no contents list.
ON_THIS_PAGE_MIN_SECTIONS = 4


@register.inclusion_tag("includes/on_this_page.html")
def on_this_page(sections, ladder=False, then=()):
    """A long page's "On this page" list: its (anchor, heading, html) sections, in page order.

    A condition's treatment ladder (`ladder`: the steps it shows) comes after `sections` and
    before `then`, as on its page. Empty on a page with few sections.
    """
    entries = [(anchor, heading) for anchor, heading, _html in sections]
    if ladder:
        entries.append(("treatment-options", _("Treatment options")))
    entries += [(anchor, heading) for anchor, heading, _html in then]
    return {"entries": entries if len(entries) >= ON_THIS_PAGE_MIN_SECTIONS else []}


@register.inclusion_tag("includes/red_flags.html", takes_context=True)
def red_flags(context, page=None, short=False, line=False):
    """The emergency guidance in its three tiers: the site's signs, then the page's own.

    Every template that shows emergency guidance calls this; `short` is the footer's form,
    `line` the header's single line (what to call in an emergency, and a link to the signs).
    """
    site = context.get("site")
    own = getattr(page, "own_red_flags", None)
    return {
        "tiers": red_flag_tiers(site.red_flags if site else (), own.all() if own else ()),
        "practice": context.get("practice"),
        "short": short,
        "line": line,
        "place": "footer" if short else "page",
    }


@register.simple_tag
def red_flag_leads():
    """The tiers' headings and what to do, as plain text for emails (which list no signs)."""
    return "\n".join(f"{tier.label}: {tier.lead}" for tier in RedFlagTier)
