"""The practice and its locations: contact details, weekly hours, holidays and closures."""

import datetime
import functools
import re
from dataclasses import dataclass
from urllib.parse import urlencode

import holidays
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.db import models
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.dateformat import time_format
from django.utils.formats import get_format
from django.utils.functional import LazyObject
from django.utils.text import slugify
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from localflavor.us.models import USStateField, USZipCodeField
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

from clinic.pagecache import PublicContent, PublicContentQuerySet, content_changed, site_info_key
from clinic.portraits import Portrait
from clinic.text import fold
from clinic.uploads import sha256_of

SITE_INFO_TIMEOUT = 6 * 60 * 60


class SiteContent(PublicContent):
    """The practice's details and hours: on every page, and in the cached site chrome."""

    class Meta:
        abstract = True

    def public_content_changed(self):
        SiteInfo.invalidate()


# Who may change who is notified and how patients reach the practice (Practice.routing_fields).
ROUTING_PERMISSION = "clinic.change_routing"


class Practice(SiteContent):
    """The practice itself. There is exactly one row, edited in the admin."""

    singleton = models.BooleanField(default=True, editable=False, unique=True)
    name = models.CharField(max_length=120)
    phone = PhoneNumberField(help_text="Main line, shown as click-to-call on every page.")
    fax = PhoneNumberField(help_text="Fax line for referrals and records.")
    email = models.EmailField(help_text="General email shown to the public. Never for PHI.")
    referral_policy = models.CharField(
        max_length=200,
        help_text="One line shown on every page, e.g. 'New patients are seen by referral only.'",
    )
    referral_details = models.TextField(
        help_text="A short paragraph for the home page: how referral works for a new patient."
    )
    # Unused: emergency guidance is RedFlag rows now. Kept for one release so the previous
    # release's code still reads it during an upgrade (docs/deploy.md); drop it in the next.
    emergency_notice = models.CharField(max_length=300, blank=True, default="", editable=False)
    patient_portal_url = models.URLField(
        blank=True, help_text="External patient portal (messages, forms, bill pay), if any."
    )
    updated_at = models.DateTimeField(auto_now=True)

    # Who changed the phone number, and when: history is registered in clinic/translation.py.

    # Routing fields decide where patients and their information go: every way to reach the
    # practice (phone, fax, email, portal link), every place patients are sent (a location's
    # address and map link, and whether it is on the site at all) and who hears of new
    # requests. One wrong digit sends a referral fax with records, a notification or a patient
    # somewhere else, so only staff with clinic.change_routing (practice admins, always with
    # the second factor) change them; the admin shows them read-only to everyone else.
    # Wording (names, policy, directions text) and hours stay with content editors.
    routing_fields = ("phone", "fax", "email", "patient_portal_url")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(singleton=True), name="practice_singleton")
        ]
        permissions = [
            ("change_routing", "Can change who is notified and how patients reach the practice")
        ]

    def __str__(self):
        return self.name


class LocationQuerySet(PublicContentQuerySet):
    def active(self):
        """Locations the public sees and patients may choose: not archived."""
        return self.filter(archived=False)

    def with_schedule(self):
        """Locations with their weekly hours and current closures, in two extra queries."""
        recent = timezone.localdate() - datetime.timedelta(days=1)
        return self.prefetch_related(
            "hours",
            models.Prefetch("closures", queryset=Closure.objects.filter(ends_on__gte=recent)),
        )


class Location(SiteContent):
    name = models.CharField(max_length=120)
    slug = models.SlugField(unique=True)
    position = models.PositiveSmallIntegerField(
        default=0, help_text="Order on the site; the first location is the main office."
    )
    street_address = models.CharField(max_length=200)
    address_line2 = models.CharField(max_length=200, blank=True, help_text="Suite, floor.")
    city = models.CharField(max_length=100)
    state = USStateField()
    zip_code = USZipCodeField("ZIP code")
    phone = PhoneNumberField()
    fax = PhoneNumberField(blank=True)
    map_url = models.URLField(
        blank=True,
        help_text="Link to directions on a map site. Empty: an OpenStreetMap search for the "
        "address.",
    )
    directions = models.TextField(
        blank=True,
        help_text="Finding the entrance and the office once inside: plain text, shown as written.",
    )
    parking = models.TextField(
        blank=True,
        help_text="Where to park, what it costs, accessible spaces. Plain text, shown as written.",
    )
    public_transit = models.TextField(
        blank=True,
        help_text="Bus or train lines and the nearest stop. Plain text, shown as written.",
    )
    accessibility = models.TextField(
        "accessibility of the building",
        blank=True,
        help_text="Steps, ramps, doors, elevators, restrooms, wheelchairs to borrow. Plain text, "
        "shown as written.",
    )
    notify_emails = models.TextField(
        "staff to notify",
        blank=True,
        help_text="Who hears of new requests for this location: one email address per line. "
        "Empty: the practice-wide list (CLINIC_NOTIFY_EMAILS).",
    )
    observes_federal_holidays = models.BooleanField(
        default=True, help_text="Closed on observed US federal holidays."
    )
    archived = models.BooleanField(
        default=False,
        db_default=False,  # workers still on the previous release insert without it
        help_text="Off the site and the forms' choices, but still shown on the requests that "
        "name it. A location with requests cannot be deleted: archive it instead.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = LocationQuerySet.as_manager()
    # history: registered in clinic/translation.py, after the Spanish fields.

    # See Practice.routing_fields.
    routing_fields = (
        "street_address",
        "address_line2",
        "city",
        "state",
        "zip_code",
        "phone",
        "fax",
        "map_url",
        "notify_emails",
        "archived",
    )

    class Meta:
        ordering = ["position", "name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("clinic:location_detail", kwargs={"slug": self.slug})

    @property
    def map_link(self):
        """Where "Directions on a map" goes: the link staff set, else an OpenStreetMap search for
        the street address (without the suite, which map searches do not know). A plain link:
        no map is embedded, nothing is loaded from the map site until the visitor follows it."""
        if self.map_url:
            return self.map_url
        address = f"{self.street_address}, {self.city}, {self.state} {self.zip_code}"
        return f"https://www.openstreetmap.org/search?{urlencode({'query': address})}"

    @property
    def notify_email_list(self):
        return [line.strip() for line in self.notify_emails.splitlines() if line.strip()]

    @property
    def address_lines(self):
        lines = [
            self.street_address,
            self.address_line2,
            f"{self.city}, {self.state} {self.zip_code}",
        ]
        return [line for line in lines if line]

    def weekly_hours(self):
        """One OpeningHours per weekday, Monday first; a missing day counts as closed."""
        by_day = {hours.weekday: hours for hours in self.hours.all()}
        return [
            by_day.get(day)
            or OpeningHours(location=self, weekday=day, kind=OpeningHours.Kind.CLOSED)
            for day in OpeningHours.Weekday.values
        ]

    def schedule_on(self, day):
        """What this location does on a given date, after holidays and closures."""
        hours = self.weekly_hours()[day.weekday()]
        for closure in self.closures.all():
            if closure.starts_on <= day <= closure.ends_on:
                return DaySchedule(day, OpeningHours.Kind.CLOSED, closed_because=closure.reason)
        if self.observes_federal_holidays and (holiday := federal_holidays(day.year).get(day)):
            return DaySchedule(day, OpeningHours.Kind.CLOSED, closed_because=holiday_name(holiday))
        if hours.kind == OpeningHours.Kind.OPEN:
            return DaySchedule(day, hours.kind, opens=hours.opens, closes=hours.closes)
        return DaySchedule(day, hours.kind)

    def status_at(self, moment):
        """Open or closed at an aware datetime, worded for the public, in the practice's zone."""
        local = timezone.localtime(moment)
        today = self.schedule_on(local.date())
        now = local.time()
        if today.is_open and today.opens <= now < today.closes:
            closes = us_time(today.closes)
            return OpenStatus(True, gettext("Open now, closes at %(time)s") % {"time": closes})
        if today.kind == OpeningHours.Kind.BY_APPOINTMENT:
            headline = gettext("By appointment only today")
        elif today.closed_because:
            headline = gettext("Closed today (%(reason)s)") % {"reason": today.closed_because}
        else:
            headline = gettext("Closed now")
        upcoming = self.next_opening(local)
        if upcoming is None:
            return OpenStatus(False, headline)
        return OpenStatus(False, headline, _opens_on(upcoming, local.date()))

    def next_opening(self, local, horizon_days=21):
        """The next day with regular hours that has not yet closed, within the horizon."""
        for offset in range(horizon_days):
            schedule = self.schedule_on(local.date() + datetime.timedelta(days=offset))
            if schedule.is_open and (offset > 0 or local.time() < schedule.opens):
                return schedule
        return None

    def add_business_hours(self, start, hours, horizon_days=60):
        """The moment `hours` of this location's opening hours have passed since `start`.

        Only regular open hours count: not by-appointment days, weekends, holidays or
        closures. Received Friday evening before a Monday holiday, 8 hours are due Tuesday.
        """
        local = timezone.localtime(start)
        remaining = datetime.timedelta(hours=hours)
        for offset in range(horizon_days):
            day = local.date() + datetime.timedelta(days=offset)
            schedule = self.schedule_on(day)
            if not schedule.is_open:
                continue
            opens = datetime.datetime.combine(day, schedule.opens, tzinfo=local.tzinfo)
            closes = datetime.datetime.combine(day, schedule.closes, tzinfo=local.tzinfo)
            begin = max(opens, local)
            if begin >= closes:
                continue
            if closes - begin >= remaining:
                return begin + remaining
            remaining -= closes - begin
        # No opening hours within the horizon (a location closed for months): count plain time.
        return start + datetime.timedelta(hours=hours)

    def close_of_business_day(self, start, horizon_days=60):
        """When the business day under way at `start` closes: today's closing time until then,
        else the next open day's. None with no opening hours within the horizon."""
        local = timezone.localtime(start)
        for offset in range(horizon_days):
            day = local.date() + datetime.timedelta(days=offset)
            schedule = self.schedule_on(day)
            if not schedule.is_open:
                continue
            closes = datetime.datetime.combine(day, schedule.closes, tzinfo=local.tzinfo)
            if closes > local:
                return closes
        return None

    def upcoming_closures(self, start, days=365):
        """Closed days with a reason (closures and federal holidays) from start onwards."""
        end = start + datetime.timedelta(days=days)
        closed = []
        for closure in self.closures.all():
            if closure.ends_on >= start and closure.starts_on <= end:
                closed.append((max(closure.starts_on, start), closure.ends_on, closure.reason))
        if self.observes_federal_holidays:
            for year in {start.year, end.year}:
                for day, name in federal_holidays(year).items():
                    if start <= day <= end:
                        closed.append((day, day, holiday_name(name)))
        return sorted(closed)

    def postal_address(self):
        """schema.org PostalAddress, for structured data."""
        return {
            "@type": "PostalAddress",
            "streetAddress": " ".join(filter(None, [self.street_address, self.address_line2])),
            "addressLocality": self.city,
            "addressRegion": self.state,
            "postalCode": self.zip_code,
            "addressCountry": "US",
        }

    def structured_data(self, practice, today):
        """schema.org MedicalClinic for search engines, as a dict for JSON-LD."""
        opening = []
        for hours in self.weekly_hours():
            day = {
                "@type": "OpeningHoursSpecification",
                # schema.org's names are English in every language: "Monday", not "Lunes".
                "dayOfWeek": f"https://schema.org/{OpeningHours.Weekday(hours.weekday).name.title()}",
            }
            if hours.kind == OpeningHours.Kind.OPEN:
                opening.append(
                    {**day, "opens": f"{hours.opens:%H:%M}", "closes": f"{hours.closes:%H:%M}"}
                )
            elif hours.kind == OpeningHours.Kind.BY_APPOINTMENT:
                # schema.org has no "by appointment": the day is listed (left out, it reads as
                # closed) without opening times (which would invite walk-ins), and says why.
                opening.append({**day, "description": hours.get_kind_display()})
        special = [
            {
                "@type": "OpeningHoursSpecification",
                "validFrom": first.isoformat(),
                "validThrough": last.isoformat(),
                "opens": "00:00",
                "closes": "00:00",
                "description": gettext("Closed: %(reason)s") % {"reason": reason},
            }
            for first, last, reason in self.upcoming_closures(today)
        ]
        data = {
            "@context": "https://schema.org",
            "@type": "MedicalClinic",
            "name": f"{practice.name} – {self.name}" if practice else self.name,
            "telephone": self.phone.as_e164,
            "address": self.postal_address(),
            "openingHoursSpecification": opening,
            "specialOpeningHoursSpecification": special,
            "hasMap": self.map_link,
        }
        if self.fax:
            data["faxNumber"] = self.fax.as_e164
        return data


class OpeningHours(SiteContent):
    class Weekday(models.IntegerChoices):
        # A context of their own: Django's plain "Monday" is the lowercase "lunes" that dates
        # use mid-sentence ("Abre el lunes"); these head the rows of the hours table.
        MONDAY = 0, pgettext_lazy("weekday heading", "Monday")
        TUESDAY = 1, pgettext_lazy("weekday heading", "Tuesday")
        WEDNESDAY = 2, pgettext_lazy("weekday heading", "Wednesday")
        THURSDAY = 3, pgettext_lazy("weekday heading", "Thursday")
        FRIDAY = 4, pgettext_lazy("weekday heading", "Friday")
        SATURDAY = 5, pgettext_lazy("weekday heading", "Saturday")
        SUNDAY = 6, pgettext_lazy("weekday heading", "Sunday")

    class Kind(models.TextChoices):
        OPEN = "open", _("Open")
        BY_APPOINTMENT = "by_appointment", _("By appointment only")
        CLOSED = "closed", _("Closed")

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OPEN)
    opens = models.TimeField(null=True, blank=True, help_text="Only for 'Open' days.")
    closes = models.TimeField(null=True, blank=True, help_text="Only for 'Open' days.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["weekday"]
        verbose_name_plural = "opening hours"
        constraints = [
            models.UniqueConstraint(fields=["location", "weekday"], name="one_hours_row_per_day"),
            models.CheckConstraint(
                condition=~models.Q(kind="open")
                | models.Q(opens__isnull=False, closes__isnull=False, opens__lt=models.F("closes")),
                name="open_days_have_hours",
            ),
        ]

    def __str__(self):
        if self.kind == self.Kind.OPEN:
            return f"{self.get_weekday_display()} {us_time(self.opens)}–{us_time(self.closes)}"
        return f"{self.get_weekday_display()}: {self.get_kind_display().lower()}"

    def clean(self):
        if self.kind == self.Kind.OPEN:
            if self.opens is None or self.closes is None:
                raise ValidationError(
                    "An open day needs an opening and a closing time.", code="required"
                )
            if self.opens >= self.closes:
                raise ValidationError(
                    {"closes": "Closing time must be after opening time."}, code="order"
                )
        else:
            self.opens = self.closes = None


class Closure(SiteContent):
    """A one-off closure: a day or a span of days, with the reason shown to the public."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="closures")
    starts_on = models.DateField()
    ends_on = models.DateField(help_text="The last closed day; the same as the first for one day.")
    reason = models.CharField(
        max_length=120, help_text="Shown to the public, e.g. 'Staff training'."
    )

    # history: registered in clinic/translation.py, after the Spanish fields.

    class Meta:
        ordering = ["starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="closure_ends_after_start",
            )
        ]

    def __str__(self):
        return f"{self.reason} ({self.starts_on:%Y-%m-%d})"

    def clean(self):
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValidationError(
                {"ends_on": "The last day cannot be before the first."}, code="order"
            )


class RedFlagTier(models.TextChoices):
    """The three kinds of emergency guidance, most urgent first.

    The label is the tier's heading and `lead` what to do; with the items (RedFlag rows and a
    condition's own ConditionRedFlag rows) they are the one source that
    templates/includes/red_flags.html renders on every page. No template words them itself.
    """

    EMERGENCY = "emergency", _("Call 911 now")
    SAME_DAY = "same_day", _("Get seen today")
    CRISIS = "crisis", _("Crisis: call or text 988")

    @property
    def lead(self):
        return {
            "emergency": gettext(
                "Call 911 or go to the nearest emergency department now. Do not use "
                "a form or wait for a call back."
            ),
            "same_day": gettext(
                "Call us or your own doctor the same day. Do not wait for your next visit."
            ),
            "crisis": gettext(
                "Call or text 988, the Suicide and Crisis Lifeline, at any time, day or "
                "night. If you are in danger right now, call 911."
            ),
        }[self.value]

    @property
    def number(self):
        """The number to call, or "" for our own (or your doctor's) line."""
        return {"emergency": "911", "crisis": "988"}.get(self.value, "")

    @property
    def textable(self):
        return self.value == "crisis"  # 988 answers text messages too


class RedFlag(SiteContent):
    """A site-wide warning sign and its tier, shown on every page.

    It lives in clinic, not conditions: every page, the footer, the forms and the providers'
    page show it, and clinic never imports conditions. It comes with the cached SiteInfo, so
    it costs no query on a page. A condition adds its own signs with conditions'
    ConditionRedFlag, which uses the same tiers.
    """

    tier = models.CharField(max_length=20, choices=RedFlagTier.choices)
    text = models.CharField(
        max_length=200,
        help_text="One sign, in plain words, e.g. 'New loss of control of your bladder or "
        "bowels.' The tier's heading says what to do: a sign that can wait until later today "
        "belongs under 'Get seen today', never under 'Call 911 now'.",
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Order within its tier.")

    # history: registered in clinic/translation.py, after the Spanish fields.

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = "emergency red flag"

    def __str__(self):
        return f"{self.get_tier_display()}: {self.text}"


def search_words(text):
    """The words of a name or a search as plan search compares them: accents, case and
    punctuation gone ("Blue Cross—PPO" → ["blue", "cross", "ppo"])."""
    return re.findall(r"\w+", fold(text))


class InsurancePlanQuerySet(PublicContentQuerySet):
    def search(self, text):
        """Plans whose name or other names hold every word of `text`, anywhere in them:
        "blue cross", "BCBS", "medicaid", "Clínica" finds "Clinica"."""
        words = search_words(text)
        if not words:
            return self.none()
        return self.filter(*(models.Q(search_text__contains=word) for word in words))

    def by_kind(self):
        """[(kind, [plans])] in the order of InsurancePlan.Kind, kinds without a plan left out."""
        plans = list(self)
        return [
            (kind, group)
            for kind in InsurancePlan.Kind
            if (group := [plan for plan in plans if plan.kind == kind])
        ]


class InsurancePlan(PublicContent):
    """A plan patients ask about, on the insurance page: one we take, or one we do not, so that
    its members get a clear answer before they call."""

    class Kind(models.TextChoices):
        # The headings of the insurance page, in this order.
        COMMERCIAL = "commercial", _("Commercial insurance")
        MEDICARE = "medicare", _("Medicare")
        MEDICARE_ADVANTAGE = "medicare_advantage", _("Medicare Advantage")
        MEDICAID = "medicaid", _("Medicaid and managed Medicaid")
        WORKERS_COMPENSATION = "workers_compensation", _("Workers' compensation")
        AUTO = "auto", _("Auto accident and personal injury")
        OTHER = "other", _("Other plans")

    name = models.CharField(
        max_length=150,
        help_text="As it reads on the member's card, e.g. 'Blue Cross Blue Shield of Illinois — "
        "PPO'. The same in English and Spanish.",
    )
    also_called = models.TextField(
        blank=True,
        help_text="Other names patients search for, one a line, e.g. 'BCBS' or 'Blue Cross'. "
        "Not shown; only searched.",
    )
    kind = models.CharField(max_length=30, choices=Kind.choices, default=Kind.COMMERCIAL)
    accepted = models.BooleanField(
        default=True,
        help_text="Untick for a plan we do not take: it stays listed, so its members read a "
        "clear 'not accepted'.",
    )
    note = models.CharField(
        max_length=200,
        blank=True,
        help_text="One short line for members, e.g. 'Referral required' or 'Prior authorization "
        "for procedures'.",
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Order within its kind.")
    # Derived on save from the name and other names: what search compares (search_words).
    search_text = models.TextField(blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = InsurancePlanQuerySet.as_manager()
    # history: registered in clinic/translation.py, after the Spanish fields.

    class Meta:
        ordering = ["position", "name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.search_text = " ".join(search_words(f"{self.name}\n{self.also_called}"))
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "search_text"}
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("clinic:insurance")


class PublicStorage(LazyObject):
    """The "public" storage of settings.STORAGES (served at /media/), looked up when first
    used, so a test's storage settings apply."""

    def _setup(self):
        self._wrapped = storages["public"]


_public_storage = PublicStorage()


def public_storage():
    return _public_storage


def patient_form_name(form, filename):
    """forms/<title>-<the content's hash>.pdf: a new file has a new name, so the copies that
    browsers keep for a year (clinic.views.public_file) are never out of date."""
    return f"forms/{slugify(form.title)[:80] or 'form'}-{sha256_of(form.file)[:12]}.pdf"


class PatientFormQuerySet(PublicContentQuerySet):
    def published(self):
        return self.filter(published=True)

    def language_first(self, language):
        """The forms in `language` first (the page's), then the others, each in their order."""
        first = models.Case(models.When(language=language, then=0), default=1)
        return self.order_by(first, "position", "title")


class PatientForm(PublicContent):
    """A form patients fill in before their first visit: a PDF staff upload in the admin,
    examined and scanned for viruses before it is written to the public storage."""

    class Language(models.TextChoices):
        ENGLISH = "en", _("English")
        SPANISH = "es", _("Spanish")

    title = models.CharField(
        max_length=120,
        help_text="In the form's own language, e.g. 'New patient health history'.",
    )
    description = models.TextField(
        blank=True,
        help_text="A sentence or two in the form's own language: what it is for, when to bring it.",
    )
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.ENGLISH)
    file = models.FileField(
        "PDF",
        storage=public_storage,
        upload_to=patient_form_name,
        max_length=200,
        help_text="A PDF of at most 10 MB, without scripts or attached files. It is checked and "
        "scanned for viruses before anyone can download it.",
    )
    file_size = models.PositiveIntegerField(default=0, editable=False)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order on the page.")
    published = models.BooleanField(
        default=True, help_text="Shown on the first-visit page for patients to download."
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = PatientFormQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "title"]
        verbose_name = "form for patients"
        verbose_name_plural = "forms for patients"

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        self.file_size = self.file.size if self.file else 0
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("clinic:first_visit")


def red_flag_tiers(site_flags, page_flags=()):
    """[(tier, [text, …])] for every tier, most urgent first: the site's signs, then a page's."""
    flags = [*site_flags, *page_flags]
    return [(tier, [flag.text for flag in flags if flag.tier == tier]) for tier in RedFlagTier]


class SpokenLanguage(models.TextChoices):
    """A language a doctor speaks, in its own name: the name its speakers look for.

    The values are BCP 47 tags, for lang attributes and search engines. The labels are not
    translated, on purpose: "Español" reads the same on the English and the Spanish page.
    """

    ENGLISH = "en", "English"
    SPANISH = "es", "Español"
    POLISH = "pl", "Polski"
    MANDARIN = "zh-cmn", "普通话"
    CANTONESE = "zh-yue", "粵語"
    ARABIC = "ar", "العربية"
    TAGALOG = "tl", "Tagalog"
    KOREAN = "ko", "한국어"
    GUJARATI = "gu", "ગુજરાતી"
    HINDI = "hi", "हिन्दी"
    URDU = "ur", "اردو"
    RUSSIAN = "ru", "Русский"
    UKRAINIAN = "uk", "Українська"
    VIETNAMESE = "vi", "Tiếng Việt"
    FRENCH = "fr", "Français"
    HAITIAN_CREOLE = "ht", "Kreyòl ayisyen"
    PORTUGUESE = "pt", "Português"
    GERMAN = "de", "Deutsch"
    ITALIAN = "it", "Italiano"
    AMERICAN_SIGN_LANGUAGE = "ase", "American Sign Language (ASL)"

    @property
    def direction(self):
        return "rtl" if self.value in ("ar", "ur") else "ltr"

    @property
    def label_language(self):
        """The language its label is written in, for the lang attribute: ASL's is English."""
        return "en" if self.value == "ase" else self.value


class ProviderQuerySet(PublicContentQuerySet):
    def published(self):
        return self.filter(published=True)

    def with_locations(self):
        """With the locations the public sees (not archived), in one more query."""
        return self.prefetch_related(Prefetch("locations", queryset=Location.objects.active()))

    def with_treatments(self):
        """With the treatments whose pages are public, in one more query."""
        # Named by the field's reference ("conditions.Treatment"): the practice app never
        # imports conditions, which builds on it.
        treatment = self.model._meta.get_field("treatments").related_model
        published = treatment.objects.published().select_related("category")
        return self.prefetch_related(Prefetch("treatments", queryset=published))


class Provider(PublicContent):
    """One of the practice's doctors, on the "Our doctors" pages."""

    name = models.CharField(
        max_length=120,
        help_text="As patients know them, without “Dr.” or credentials, e.g. “Maya Okafor”.",
    )
    slug = models.SlugField(unique=True, help_text="The page's address: /doctors/<slug>/.")
    credentials = models.CharField(
        max_length=60,
        help_text="Degrees shown after the name, e.g. “MD” or “DO, MPH”. The same in every "
        "language.",
    )
    specialty = models.CharField(
        max_length=120, help_text="A few words, e.g. “Interventional pain medicine”."
    )
    board_certifications = models.TextField(
        blank=True,
        help_text="One per line, as the board words it, e.g. “American Board of "
        "Anesthesiology — Pain Medicine”.",
    )
    bio = models.TextField(
        help_text="Plain text, shown as written: a few short paragraphs, with a blank line "
        "between them."
    )
    languages = models.CharField(
        max_length=200,
        default=SpokenLanguage.ENGLISH,
        help_text="The languages this doctor speaks with patients.",
    )
    # The stem of the portrait's renditions in the public storage (clinic/portraits.py), set
    # by the admin form from an upload; the upload itself is never kept.
    portrait = models.CharField(max_length=100, blank=True, editable=False)
    portrait_is_illustration = models.BooleanField(
        "the portrait is an illustration",
        default=False,
        help_text="Tick for a drawing rather than a photo: people who cannot see it are told "
        "it is an illustration.",
    )
    locations = models.ManyToManyField(
        Location,
        related_name="providers",
        blank=True,
        help_text="Where patients see this doctor. Each location's page lists its doctors.",
    )
    treatments = models.ManyToManyField(
        "conditions.Treatment",
        related_name="providers",
        blank=True,
        help_text="The treatments this doctor performs. Each treatment's page links here.",
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Order on the site.")
    published = models.BooleanField(
        default=False, help_text="Shown on the site. Leave it off until the profile is ready."
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProviderQuerySet.as_manager()
    # history: registered in clinic/translation.py, after the Spanish fields.

    class Meta:
        ordering = ["position", "name"]
        verbose_name = "doctor"

    def __str__(self):
        return self.full_name

    def get_absolute_url(self):
        return reverse("clinic:provider_detail", kwargs={"slug": self.slug})

    @property
    def full_name(self):
        """The name with the credentials, as the site writes it: "Maya Okafor, MD"."""
        return f"{self.name}, {self.credentials}" if self.credentials else self.name

    @property
    def initials(self):
        """For the placeholder of a doctor without a portrait: "MO"."""
        words = self.name.split()
        return "".join(word[0] for word in (words[:1] + words[1:][-1:])).upper()

    @property
    def picture(self):
        """The portrait's renditions, or None without a portrait."""
        return Portrait(self.portrait) if self.portrait else None

    @property
    def certification_list(self):
        return [line.strip() for line in self.board_certifications.splitlines() if line.strip()]

    @property
    def language_codes(self):
        return self.languages.split()

    @property
    def spoken_languages(self):
        """The SpokenLanguage of each language, in the order the choices list them."""
        codes = set(self.language_codes)
        return [language for language in SpokenLanguage if language.value in codes]

    def structured_data(self, practice, absolute):
        """schema.org Physician for search engines, as a dict for JSON-LD. `absolute` makes a
        path a full URL (request.build_absolute_uri); locations and treatments as prefetched
        by with_locations() and with_treatments().

        schema.org's Physician is a MedicalOrganization, not a Person, so it has no
        honorificSuffix: the credentials are in the name, as the page writes it, and the
        board certifications are credentials of their own.
        """
        locations = list(self.locations.all())
        data = {
            "@context": "https://schema.org",
            "@type": "Physician",
            "name": self.full_name,
            "url": absolute(self.get_absolute_url()),
            "medicalSpecialty": self.specialty,
            "knowsLanguage": self.language_codes,
        }
        if self.picture:
            data["image"] = absolute(self.picture.largest_url)
        if practice:
            data["memberOf"] = {
                "@type": "MedicalOrganization",
                "name": practice.name,
                "url": absolute(reverse("clinic:home")),
            }
        if locations:
            data["address"] = locations[0].postal_address()
            data["location"] = [
                {
                    "@type": "MedicalClinic",
                    "name": location.name,
                    "url": absolute(location.get_absolute_url()),
                    "telephone": location.phone.as_e164,
                    "address": location.postal_address(),
                }
                for location in locations
            ]
        if self.certification_list:
            data["hasCredential"] = [
                {
                    "@type": "EducationalOccupationalCredential",
                    "credentialCategory": "Board certification",
                    "name": certification,
                }
                for certification in self.certification_list
            ]
        treatments = self.treatments.all()
        if treatments:
            data["availableService"] = [
                {
                    "@type": treatment.schema_type,
                    "name": treatment.name,
                    "url": absolute(treatment.get_absolute_url()),
                }
                for treatment in treatments
            ]
        return data


# How federal_holidays marks a holiday observed on another day: "Independence Day, observed".
OBSERVED = ", observed"


@functools.cache
def federal_holidays(year):
    """Observed US federal holidays of a year: {date: name}."""
    return {
        day: name.replace(" (observed)", OBSERVED)
        for day, name in holidays.country_holidays("US", years=year, observed=True).items()
    }


def us_time(value):
    """A time (or a local datetime's time) as the US writes it, for the public: "8:30 AM",
    "4:30 PM"; on the hour without ":00" ("9 AM"); noon is "12 PM", midnight "12 AM".

    Every time a patient or an office reads goes through this, in Python or through the
    `us_time` template filter. AM and PM come from Django's translations.
    """
    return time_format(value, "g A" if value.minute == 0 else "g:i A")


# The names the holidays package gives (it has no Spanish), for the public in either language.
HOLIDAY_NAMES = {
    "New Year's Day": _("New Year's Day"),
    "Martin Luther King Jr. Day": _("Martin Luther King Jr. Day"),
    "Washington's Birthday": _("Washington's Birthday"),
    "Memorial Day": _("Memorial Day"),
    "Juneteenth National Independence Day": _("Juneteenth National Independence Day"),
    "Independence Day": _("Independence Day"),
    "Labor Day": _("Labor Day"),
    "Columbus Day": _("Columbus Day"),
    "Veterans Day": _("Veterans Day"),
    "Thanksgiving Day": _("Thanksgiving Day"),
    "Christmas Day": _("Christmas Day"),
}


def holiday_name(name):
    """A federal holiday's name (as federal_holidays gives it) in the active language."""
    holiday = name.removesuffix(OBSERVED)
    translated = str(HOLIDAY_NAMES.get(holiday, holiday))
    if name.endswith(OBSERVED):
        return gettext("%(holiday)s, observed") % {"holiday": translated}
    return translated


def _opens_on(schedule, today):
    """When a location next opens, worded from today: "Opens tomorrow at 8:30 AM"."""
    day, time = schedule.day, us_time(schedule.opens)
    if day == today:
        return gettext("Opens today at %(time)s") % {"time": time}
    if day == today + datetime.timedelta(days=1):
        return gettext("Opens tomorrow at %(time)s") % {"time": time}
    weekday = date_format(day, "l")
    if day < today + datetime.timedelta(days=7):
        return gettext("Opens %(weekday)s at %(time)s") % {"weekday": weekday, "time": time}
    return gettext("Opens %(weekday)s, %(date)s at %(time)s") % {
        "weekday": weekday,
        "date": date_format(day, get_format("MONTH_DAY_FORMAT")),
        "time": time,
    }


@dataclass(frozen=True)
class DaySchedule:
    day: datetime.date
    kind: str
    opens: datetime.time | None = None
    closes: datetime.time | None = None
    closed_because: str = ""

    @property
    def is_open(self):
        return self.kind == OpeningHours.Kind.OPEN and not self.closed_because


@dataclass(frozen=True)
class OpenStatus:
    is_open: bool
    headline: str
    detail: str = ""

    def __str__(self):
        return f"{self.headline}. {self.detail}" if self.detail else self.headline


_last_known = None


@dataclass
class SiteInfo:
    """The practice and its locations, read once and kept in the shared cache.

    Every page shows them, so they come from the cache shared by all workers, kept per content
    version: any change to public content (after its transaction commits) replaces them.
    """

    practice: Practice | None
    locations: list[Location]
    # A default, so a SiteInfo cached by the previous release still reads.
    red_flags: tuple = ()

    @classmethod
    def load(cls):
        global _last_known
        key = site_info_key()
        info = cache.get(key)
        if info is None:
            info = cls(
                practice=Practice.objects.first(),
                locations=list(Location.objects.active().with_schedule()),
                red_flags=tuple(RedFlag.objects.all()),
            )
            cache.set(key, info, SITE_INFO_TIMEOUT)
        _last_known = info
        return info

    @staticmethod
    def last_known():
        """What this process last read: the error pages' phone number when the database or
        the cache cannot answer."""
        return _last_known

    @classmethod
    def for_request(cls, request):
        """Loaded once per request, however many templates and views ask."""
        if not hasattr(request, "_site_info"):
            request._site_info = cls.load()
        return request._site_info

    @staticmethod
    def invalidate():
        content_changed()  # the cached chrome is per content version

    def status_valid_until(self, moment):
        """When the next opening or closing changes some location's status, or midnight."""
        local = timezone.localtime(moment)
        midnight = datetime.datetime.combine(
            local.date() + datetime.timedelta(days=1), datetime.time(), tzinfo=local.tzinfo
        )
        changes = [midnight]
        for location in self.locations:
            today = location.schedule_on(local.date())
            if today.is_open:
                for time in (today.opens, today.closes):
                    change = datetime.datetime.combine(local.date(), time, tzinfo=local.tzinfo)
                    if change > local:
                        changes.append(change)
        return min(changes)

    @property
    def main_location(self):
        return self.locations[0] if self.locations else None

    def location(self, slug):
        return next((location for location in self.locations if location.slug == slug), None)
