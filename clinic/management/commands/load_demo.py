"""Load the fictional demo practice and its pages. Safe to run again: it only adds what is
missing and never changes what staff edited.

The pages are approved by the demo clinical reviewer (conditions/content/site.toml) at the
moment they are loaded, so "medically reviewed on" tells the truth about the demo: a record
of that approval, dated now. Only pages never approved are approved; an editor's pending
change stays waiting for a real reviewer.
"""

import datetime
import tomllib
from datetime import time

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation

from clinic.models import Closure, Location, OpeningHours, Practice

PRACTICE = {
    "name": "Bluestem Spine & Pain Center",
    "phone": "+12175550100",
    "fax": "+12175550101",
    "email": "frontdesk@bluestem-pain.example",
    "referral_policy": "New patients are seen by physician referral only.",
    "referral_details": (
        "Your primary care doctor, surgeon or specialist sends us a referral with your records. "
        "Once it arrives we review it and call you to book your first visit. If you have asked "
        "your doctor but we have not called within a few days, call us and we will follow up "
        "with their office."
    ),
    "patient_portal_url": "https://portal.bluestem-pain.example/",
}

OPEN, BY_APPOINTMENT, CLOSED = (
    OpeningHours.Kind.OPEN,
    OpeningHours.Kind.BY_APPOINTMENT,
    OpeningHours.Kind.CLOSED,
)
MAIN_HOURS = (
    [(OPEN, time(8, 30), time(16, 30))] * 4
    + [(BY_APPOINTMENT, None, None)]
    + [(CLOSED, None, None)] * 2
)
EAST_HOURS = [
    (OPEN, time(9, 0), time(15, 0)),
    (CLOSED, None, None),
    (OPEN, time(9, 0), time(15, 0)),
    (CLOSED, None, None),
    (BY_APPOINTMENT, None, None),
    (CLOSED, None, None),
    (CLOSED, None, None),
]

LOCATIONS = [
    {
        "slug": "main-clinic",
        "name": "Main Clinic",
        "position": 0,
        "street_address": "1450 Prairie Crossing Drive",
        "address_line2": "Suite 200",
        "city": "Springfield",
        "state": "IL",
        "zip_code": "62704",
        "phone": "+12175550100",
        "fax": "+12175550101",
        "directions": (
            "Free parking in the surface lot by the main entrance. The building is step-free; "
            "take the elevator to the second floor. Wheelchairs are available at the front desk."
        ),
        "notify_emails": "frontdesk@bluestem-pain.example",
        "hours": MAIN_HOURS,
    },
    {
        "slug": "eastside",
        "name": "Eastside Clinic",
        "position": 1,
        "street_address": "310 Meadowlark Lane",
        "address_line2": "",
        "city": "Champaign",
        "state": "IL",
        "zip_code": "61820",
        "phone": "+12175550140",
        "fax": "+12175550141",
        "directions": "Street parking and a lot behind the building. Ground floor, step-free.",
        "notify_emails": "eastside-desk@bluestem-pain.example",
        "hours": EAST_HOURS,
    },
]


TRAINING_DAY_REASON = "Staff training"

# The demo's public wording in Spanish: (model, field, the English the demo loads, Spanish).
# Names, addresses and phone numbers are the same in both languages.
SPANISH = [
    (
        Practice,
        "referral_policy",
        PRACTICE["referral_policy"],
        "Atendemos a pacientes nuevos solo si un médico los refiere.",
    ),
    (
        Practice,
        "referral_details",
        PRACTICE["referral_details"],
        "Su médico de cabecera, cirujano o especialista nos envía una referencia con sus "
        "expedientes. Cuando llega, la revisamos y lo llamamos para hacer su primera cita. "
        "Si ya se lo pidió a su médico y no lo hemos llamado en unos días, llámenos. "
        "Nosotros hablaremos con el consultorio de su médico.",
    ),
    (
        Location,
        "directions",
        LOCATIONS[0]["directions"],
        "Estacionamiento gratis en el lote junto a la entrada principal. El edificio no tiene "
        "escalones: tome el elevador al segundo piso. Hay sillas de ruedas en la recepción.",
    ),
    (
        Location,
        "directions",
        LOCATIONS[1]["directions"],
        "Estacionamiento en la calle y en un lote detrás del edificio. En la planta baja, "
        "sin escalones.",
    ),
    (Closure, "reason", TRAINING_DAY_REASON, "Capacitación del personal"),
]


class Command(BaseCommand):
    help = (
        "Load the demo practice and its locations. Adds only what is missing and never "
        "changes what staff have edited."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--without-pages",
            action="store_true",
            help="Only the practice and its locations, not the condition and treatment pages.",
        )

    @transaction.atomic
    @translation.override("en")  # the plain field names below are the English wording
    def handle(self, *args, without_pages, **options):
        created = []
        if not Practice.objects.exists():
            Practice.objects.create(**PRACTICE)
            created.append("the practice")
        # Seeded only into an empty table, so a location staff deleted stays deleted.
        for data in LOCATIONS if not Location.objects.exists() else []:
            fields = {key: value for key, value in data.items() if key not in {"slug", "hours"}}
            location = Location.objects.create(slug=data["slug"], **fields)
            OpeningHours.objects.bulk_create(
                OpeningHours(location=location, weekday=day, kind=kind, opens=opens, closes=closes)
                for day, (kind, opens, closes) in enumerate(data["hours"])
            )
            if location.slug == "eastside":
                training_day = _next_weekday(timezone.localdate() + datetime.timedelta(days=14))
                Closure.objects.create(
                    location=location,
                    starts_on=training_day,
                    ends_on=training_day,
                    reason=TRAINING_DAY_REASON,
                )
            created.append(location.name)
        if add_spanish():
            created.append("the Spanish wording")
        self.stdout.write(
            f"Demo data: added {', '.join(created)}." if created else "Demo data already present."
        )
        if not without_pages:
            call_command("import_content", stdout=self.stdout)
            approved = approve_demo_pages()
            self.stdout.write(f"Approved {approved} page(s) as the demo clinical reviewer.")


def add_spanish():
    """Spanish for the demo's wording where it is still the demo's English and has none yet
    (a new install, or one loaded before the site spoke Spanish). Returns how many rows."""
    added = 0
    for model, field, english, spanish in SPANISH:
        missing = Q(**{f"{field}_es__isnull": True}) | Q(**{f"{field}_es": ""})
        # One save each, not update(): the history records that the Spanish was added.
        for row in model.objects.filter(missing, **{f"{field}_en": english}):
            setattr(row, f"{field}_es", spanish)
            row.save(update_fields=[f"{field}_es"])
            added += 1
    return added


def demo_reviewer():
    """The demo clinician's account: in the Clinical reviewer group, unable to log in."""
    from conditions.management.commands.import_content import CONTENT_DIR
    from conditions.models import Reviewer

    site = tomllib.loads((CONTENT_DIR / "site.toml").read_text(encoding="utf-8"))
    profile = site["demo_reviewer"]
    user, created = get_user_model().objects.get_or_create(username="demo-clinical-reviewer")
    if created:
        user.set_unusable_password()
        user.save()
    user.groups.add(Group.objects.get(name="Clinical reviewer"))
    Reviewer.objects.get_or_create(
        user=user,
        defaults={
            "name": profile["name"],
            "credentials": profile["credentials"],
            "specialty": profile.get("specialty", ""),
        },
    )
    return get_user_model().objects.get(pk=user.pk)  # fresh: permissions are cached per object


def approve_demo_pages():
    from conditions.models import SPANISH, Condition, Treatment

    reviewer = demo_reviewer()
    pages = [
        page
        for model in (Treatment, Condition)
        for page in model.objects.never_approved().with_clinical_parts()
    ]
    for page in pages:
        page.approve(reviewer, "Demo content, approved when the demo was loaded.")
    # Spanish versions likewise: each is its own reviewable version, approved once, naming
    # its translator (from the file); an edited translation waits for a real reviewer.
    translations = [
        page
        for model in (Treatment, Condition)
        for page in model.objects.filter(translation_approval__isnull=True)
        .select_related("approval")
        .with_clinical_parts()
        if page.has_translation and page.approval is not None
    ]
    for page in translations:
        page.approve(
            reviewer, "Demo translation, approved when the demo was loaded.", language=SPANISH
        )
    return len(pages) + len(translations)


def _next_weekday(day):
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    return day
