"""Load the fictional demo practice and its pages. Safe to run again: it only adds what is
missing and never changes what staff edited.

The pages are approved by the demo clinical reviewer (conditions/content/site.toml) at the
moment they are loaded, so "medically reviewed on" tells the truth about the demo: a record
of that approval, dated now. Only pages never approved are approved; an editor's pending
change stays waiting for a real reviewer.
"""

import datetime
import io
from datetime import time

import pikepdf
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from PIL import Image, ImageDraw

from clinic import portraits
from clinic.models import (
    Closure,
    InsurancePlan,
    Location,
    OpeningHours,
    PatientForm,
    Practice,
    Provider,
)

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
            "Enter through the glass doors facing the parking lot. Take the elevator to the "
            "second floor; Suite 200 is on the left as you step out."
        ),
        "parking": (
            "Free parking in the lot in front of the building, with six accessible spaces next "
            "to the main entrance. No ticket or permit needed."
        ),
        "public_transit": (
            "City bus route 10 stops at Prairie Crossing Dr & Wabash Ave, a two-minute walk "
            "along a level sidewalk."
        ),
        "accessibility": (
            "Step-free from the parking lot to the front desk: automatic doors, an elevator to "
            "the second floor and accessible restrooms on each floor. Wheelchairs are available "
            "at the entrance; ask at the front desk if you need a hand."
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
        "directions": (
            "The entrance faces Meadowlark Lane. The clinic is on the ground floor, to the right "
            "of the lobby."
        ),
        "parking": (
            "Free street parking on Meadowlark Lane (two-hour limit) and a free lot behind the "
            "building, with two accessible spaces by the rear door."
        ),
        "public_transit": (
            "City bus route 5 stops at Meadowlark Ln & Oak St, one block west of the clinic."
        ),
        "accessibility": (
            "Ground floor, step-free from the street and from the rear lot. The rear door opens "
            "with a push button. An accessible restroom is next to the waiting room."
        ),
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
        "Entre por las puertas de vidrio que dan al estacionamiento. Tome el elevador al segundo "
        "piso; la Suite 200 está a la izquierda al salir del elevador.",
    ),
    (
        Location,
        "parking",
        LOCATIONS[0]["parking"],
        "Estacionamiento gratis en el lote frente al edificio, con seis espacios accesibles "
        "junto a la entrada principal. No necesita boleto ni permiso.",
    ),
    (
        Location,
        "public_transit",
        LOCATIONS[0]["public_transit"],
        "La ruta 10 del autobús de la ciudad para en Prairie Crossing Dr y Wabash Ave, a dos "
        "minutos a pie por una acera plana.",
    ),
    (
        Location,
        "accessibility",
        LOCATIONS[0]["accessibility"],
        "Sin escalones desde el estacionamiento hasta la recepción: puertas automáticas, "
        "elevador al segundo piso y baños accesibles en cada piso. Hay sillas de ruedas en la "
        "entrada; pida ayuda en la recepción si la necesita.",
    ),
    (
        Location,
        "directions",
        LOCATIONS[1]["directions"],
        "La entrada da a Meadowlark Lane. La clínica está en la planta baja, a la derecha del "
        "vestíbulo.",
    ),
    (
        Location,
        "parking",
        LOCATIONS[1]["parking"],
        "Estacionamiento gratis en Meadowlark Lane (máximo dos horas) y en un lote gratis detrás "
        "del edificio, con dos espacios accesibles junto a la puerta trasera.",
    ),
    (
        Location,
        "public_transit",
        LOCATIONS[1]["public_transit"],
        "La ruta 5 del autobús de la ciudad para en Meadowlark Ln y Oak St, a una cuadra al "
        "oeste de la clínica.",
    ),
    (
        Location,
        "accessibility",
        LOCATIONS[1]["accessibility"],
        "Planta baja, sin escalones desde la calle y desde el lote trasero. La puerta trasera "
        "se abre con un botón. Hay un baño accesible junto a la sala de espera.",
    ),
    (Closure, "reason", TRAINING_DAY_REASON, "Capacitación del personal"),
]

# How to reach each demo office, added to a demo location that has none of it yet (one loaded
# before these fields existed).
LOCATION_DETAILS = ("parking", "public_transit", "accessibility")

COMMERCIAL, MEDICARE, ADVANTAGE, MEDICAID, WORKERS, AUTO, OTHER = InsurancePlan.Kind
REFERRAL = ("Referral required", "Se necesita remisión")
PRIOR_AUTHORIZATION = (
    "Prior authorization for procedures",
    "Autorización previa para procedimientos",
)
# (kind, name, other names, accepted, (note, its Spanish)): plan names stay as on the card.
INSURANCE_PLANS = [
    (COMMERCIAL, "Aetna — PPO and HMO", "Aetna Choice POS", True, PRIOR_AUTHORIZATION),
    (
        COMMERCIAL,
        "Blue Cross Blue Shield of Illinois — PPO",
        "BCBS\nBCBSIL\nBlue Cross\nBlue Shield",
        True,
        PRIOR_AUTHORIZATION,
    ),
    (
        COMMERCIAL,
        "Blue Cross Blue Shield of Illinois — HMO Illinois and Blue Advantage HMO",
        "BCBS HMO\nBCBSIL\nBlue Cross\nBlue Shield",
        True,
        (
            "Referral from your HMO primary care doctor required",
            "Se necesita remisión de su médico de cabecera del HMO",
        ),
    ),
    (COMMERCIAL, "Cigna — Open Access Plus and PPO", "Cigna OAP", True, PRIOR_AUTHORIZATION),
    (COMMERCIAL, "Health Alliance — PPO and HMO", "HA", True, REFERRAL),
    (
        COMMERCIAL,
        "UnitedHealthcare — Choice Plus",
        "UHC\nUnited Healthcare\nUnited",
        True,
        PRIOR_AUTHORIZATION,
    ),
    (
        COMMERCIAL,
        "Ambetter from Meridian (Health Insurance Marketplace)",
        "Ambetter\nMarketplace\nObamacare\nACA",
        False,
        ("", ""),
    ),
    (
        MEDICARE,
        "Original Medicare (Part B)",
        "Traditional Medicare\nMedicare Part B",
        True,
        (
            "With or without a supplement (Medigap) plan",
            "Con o sin un plan suplementario (Medigap)",
        ),
    ),
    (
        MEDICARE,
        "Medicare supplement (Medigap) plans",
        "Medigap\nMedicare supplement",
        True,
        ("With Original Medicare", "Junto con Medicare Original"),
    ),
    (MEDICARE, "Railroad Medicare", "RRB\nRailroad Retirement Board", True, ("", "")),
    (ADVANTAGE, "Aetna Medicare Advantage — PPO and HMO", "Aetna Medicare", True, REFERRAL),
    (
        ADVANTAGE,
        "Humana Medicare Advantage — Gold Plus HMO and PPO",
        "Humana Gold\nHumana Medicare",
        True,
        REFERRAL,
    ),
    (
        ADVANTAGE,
        "UnitedHealthcare Medicare Advantage — AARP Medicare Advantage",
        "AARP\nUHC Medicare\nUnited Healthcare Medicare",
        True,
        PRIOR_AUTHORIZATION,
    ),
    (ADVANTAGE, "Health Alliance Medicare", "HA Medicare", True, PRIOR_AUTHORIZATION),
    (ADVANTAGE, "Wellcare Medicare Advantage", "Wellcare", False, ("", "")),
    (
        MEDICAID,
        "Illinois Medicaid (HFS medical card)",
        "HFS\nMedical card\nIllinois Medicaid\nMedicaid",
        True,
        ("Bring your HFS medical card", "Traiga su tarjeta médica de HFS"),
    ),
    (
        MEDICAID,
        "Blue Cross Community Health Plans (HealthChoice Illinois)",
        "BCCHP\nMedicaid\nHealthChoice Illinois\nBlue Cross\nBCBS",
        True,
        REFERRAL,
    ),
    (
        MEDICAID,
        "Meridian (HealthChoice Illinois)",
        "Meridian Medicaid\nMedicaid\nHealthChoice Illinois",
        True,
        REFERRAL,
    ),
    (
        MEDICAID,
        "Molina Healthcare of Illinois (HealthChoice Illinois)",
        "Molina\nMedicaid\nHealthChoice Illinois",
        True,
        REFERRAL,
    ),
    (
        MEDICAID,
        "CountyCare Health Plan (Cook County)",
        "CountyCare\nMedicaid\nHealthChoice Illinois",
        False,
        ("", ""),
    ),
    (
        WORKERS,
        "Illinois workers' compensation",
        "Workers comp\nWork injury\nJob injury\nIWCC",
        True,
        (
            "Bring your claim number and your adjuster's name and phone number",
            "Traiga su número de reclamo y el nombre y teléfono de su ajustador",
        ),
    ),
    (
        AUTO,
        "Auto insurance medical payments coverage (MedPay)",
        "MedPay\nCar accident\nAuto accident",
        True,
        (
            "Bring the claim number and your auto insurer's phone number",
            "Traiga el número de reclamo y el teléfono de su aseguradora de auto",
        ),
    ),
    (
        AUTO,
        "Letters of protection and liens (personal injury cases)",
        "LOP\nLien\nAttorney\nLawyer",
        False,
        ("", ""),
    ),
    (
        OTHER,
        "TRICARE — Prime and Select",
        "Tricare\nMilitary",
        True,
        (
            "Referral required for TRICARE Prime",
            "Se necesita remisión para TRICARE Prime",
        ),
    ),
]

# (title, language, description, lines to fill in): small PDFs made when the demo is loaded.
PATIENT_FORMS = [
    (
        "New patient health history",
        PatientForm.Language.ENGLISH,
        "Your pain, your medicines and the treatments and surgeries you have had. Fill it in "
        "at home and bring it to your first visit.",
        [
            "Name",
            "Date of birth",
            "Doctor who referred you",
            "Where is your pain?",
            "Since when?",
            "Pain today, from 0 (none) to 10 (the worst)",
            "Treatments you have tried",
            "Surgeries (what and when)",
            "Medicines and doses",
            "Allergies",
        ],
    ),
    (
        "Historia clínica del paciente nuevo",
        PatientForm.Language.SPANISH,
        "Su dolor, sus medicamentos y los tratamientos y cirugías que ha tenido. Llénela en "
        "casa y tráigala a su primera visita.",
        [
            "Nombre",
            "Fecha de nacimiento",
            "Médico que lo remitió",
            "¿Dónde le duele?",
            "¿Desde cuándo?",
            "Dolor hoy, de 0 (nada) a 10 (el peor)",
            "Tratamientos que ha probado",
            "Cirugías (cuáles y cuándo)",
            "Medicamentos y dosis",
            "Alergias",
        ],
    ),
    (
        "Pain diary",
        PatientForm.Language.ENGLISH,
        "Write down your pain each day for the two weeks before your visit: how strong, where, "
        "and what helps. It shows your doctor what a visit cannot.",
        [
            "Date",
            "Pain in the morning, 0 to 10",
            "Pain in the evening, 0 to 10",
            "Where it hurt",
            "What made it better",
            "What made it worse",
            "Medicines you took",
        ],
    ),
]


# The practice's doctors: fictional people, drawn, not photographed (see illustrated_portrait).
# Each look: background, skin and its shade, hair and its style, the shirt under the white coat.
PROVIDERS = [
    {
        "slug": "maya-okafor",
        "name": "Maya Okafor",
        "credentials": "MD",
        "specialty": "Interventional pain medicine",
        "specialty_es": "Medicina intervencionista del dolor",
        "board_certifications": (
            "American Board of Anesthesiology — Anesthesiology\n"
            "American Board of Anesthesiology — Pain Medicine"
        ),
        "board_certifications_es": (
            "American Board of Anesthesiology — Anestesiología\n"
            "American Board of Anesthesiology — Medicina del dolor"
        ),
        "bio": (
            "Dr. Okafor trained in anesthesiology and then in interventional pain medicine. She "
            "treats back and neck pain with image-guided injections, radiofrequency ablation "
            "and spinal cord stimulation, and leads our spinal cord stimulation program.\n\n"
            "She explains each option in plain words, starting with the simplest, and works "
            "closely with her patients' surgeons, family doctors and physical therapists."
        ),
        "bio_es": (
            "La Dra. Okafor se formó en anestesiología y después en medicina intervencionista "
            "del dolor. Trata el dolor de espalda y de cuello con inyecciones guiadas por "
            "imágenes, ablación por radiofrecuencia y estimulación de la médula espinal, y "
            "dirige nuestro programa de estimulación de la médula espinal.\n\n"
            "Explica cada opción con palabras sencillas, empezando por la más simple, y trabaja "
            "de cerca con los cirujanos, médicos de familia y fisioterapeutas de sus pacientes."
        ),
        "languages": "en",
        "locations": ["main-clinic"],
        "treatments": [
            "epidural-steroid-injections",
            "medial-branch-blocks",
            "radiofrequency-ablation",
            "spinal-cord-stimulation",
            "intrathecal-drug-delivery",
            "basivertebral-nerve-ablation",
        ],
        "look": {
            "background": "#cfe6e4",
            "skin": "#8d5a3b",
            "skin_shade": "#7a4c31",
            "hair": "#1f1a17",
            "hair_style": "bun",
            "shirt": "#2f6f8f",
        },
    },
    {
        "slug": "daniel-reyes",
        "name": "Daniel Reyes",
        "credentials": "DO",
        "specialty": "Physical medicine and rehabilitation",
        "specialty_es": "Medicina física y rehabilitación",
        "board_certifications": (
            "American Board of Physical Medicine and Rehabilitation\n"
            "American Board of Physical Medicine and Rehabilitation — Pain Medicine"
        ),
        "board_certifications_es": (
            "American Board of Physical Medicine and Rehabilitation\n"
            "American Board of Physical Medicine and Rehabilitation — Medicina del dolor"
        ),
        "bio": (
            "Dr. Reyes is a physiatrist: a doctor of physical medicine and rehabilitation. He "
            "looks at how pain changes the way you move, work and sleep, and builds a plan that "
            "pairs treatment with exercise to get you moving again.\n\n"
            "He performs joint, facet and sacroiliac joint injections and trigger point "
            "injections, and works with our physical therapists on each patient's home "
            "exercise program. He sees patients in English and Spanish."
        ),
        "bio_es": (
            "El Dr. Reyes es fisiatra: médico especialista en medicina física y rehabilitación. "
            "Se fija en cómo el dolor cambia su manera de moverse, trabajar y dormir, y prepara "
            "un plan que combina el tratamiento con ejercicio para que usted vuelva a moverse.\n\n"
            "Realiza inyecciones en las articulaciones, en las facetas, en la articulación "
            "sacroilíaca y en puntos gatillo, y trabaja con nuestros fisioterapeutas en el "
            "programa de ejercicios en casa de cada paciente. Atiende a sus pacientes en inglés "
            "y en español."
        ),
        "languages": "en es",
        "locations": ["main-clinic", "eastside"],
        "treatments": [
            "facet-joint-injections",
            "sacroiliac-joint-injections",
            "joint-and-bursa-injections",
            "trigger-point-injections",
            "physical-therapy-and-exercise",
            "medication-management",
        ],
        "look": {
            "background": "#f3e1c7",
            "skin": "#c98d63",
            "skin_shade": "#b57c54",
            "hair": "#2a1d15",
            "hair_style": "side_part",
            "beard": True,
            "shirt": "#6d8f3a",
        },
    },
    {
        "slug": "priya-raman",
        "name": "Priya Raman",
        "credentials": "MD",
        "specialty": "Neurology and pain medicine",
        "specialty_es": "Neurología y medicina del dolor",
        "board_certifications": (
            "American Board of Psychiatry and Neurology — Neurology\n"
            "American Board of Psychiatry and Neurology — Pain Medicine"
        ),
        "board_certifications_es": (
            "American Board of Psychiatry and Neurology — Neurología\n"
            "American Board of Psychiatry and Neurology — Medicina del dolor"
        ),
        "bio": (
            "Dr. Raman trained in neurology before she specialized in pain medicine. She cares "
            "for people with nerve pain: neuropathy, complex regional pain syndrome, facial pain "
            "and headaches, and pain that stays after shingles.\n\n"
            "She combines nerve blocks and peripheral nerve stimulation with carefully chosen "
            "medicines, and takes the time to explain how nerve pain works, because "
            "understanding it is part of treating it."
        ),
        "bio_es": (
            "La Dra. Raman se formó en neurología antes de especializarse en medicina del dolor. "
            "Atiende a personas con dolor de los nervios: neuropatía, síndrome de dolor regional "
            "complejo, dolor facial y dolores de cabeza, y el dolor que queda después del "
            "herpes zóster (culebrilla).\n\n"
            "Combina bloqueos nerviosos y estimulación de nervios periféricos con medicamentos "
            "elegidos con cuidado, y se toma el tiempo de explicar cómo funciona el dolor de los "
            "nervios, porque entenderlo es parte del tratamiento."
        ),
        "languages": "en hi",
        "locations": ["eastside"],
        "treatments": [
            "nerve-blocks",
            "sympathetic-plexus-blocks",
            "peripheral-nerve-stimulation",
            "medication-management",
        ],
        "look": {
            "background": "#dcd6ef",
            "skin": "#a86f4c",
            "skin_shade": "#955f3e",
            "hair": "#17120f",
            "hair_style": "long",
            "glasses": True,
            "shirt": "#8c3b5a",
        },
    },
    {
        "slug": "samuel-kowalski",
        "name": "Samuel Kowalski",
        "credentials": "MD, MPH",
        "specialty": "Interventional spine and pain medicine",
        "specialty_es": "Medicina intervencionista de la columna y del dolor",
        "board_certifications": (
            "American Board of Anesthesiology — Anesthesiology\n"
            "American Board of Anesthesiology — Pain Medicine"
        ),
        "board_certifications_es": (
            "American Board of Anesthesiology — Anestesiología\n"
            "American Board of Anesthesiology — Medicina del dolor"
        ),
        "bio": (
            "Dr. Kowalski performs our minimally invasive spine procedures, such as the MILD "
            "procedure, interspinous spacers and sacroiliac joint fusion, for patients whose "
            "pain has not eased with injections and therapy. They are done through small "
            "incisions, and most patients go home the same day.\n\n"
            "He also holds a degree in public health and follows the research closely: he will "
            "tell you what a procedure is likely to do for someone like you, and what it will "
            "not."
        ),
        "bio_es": (
            "El Dr. Kowalski realiza nuestros procedimientos de columna mínimamente invasivos, "
            "como el procedimiento MILD, los espaciadores interespinosos y la fusión de la "
            "articulación sacroilíaca, para pacientes cuyo dolor no ha mejorado con inyecciones "
            "y terapia. Se hacen por incisiones pequeñas, y la mayoría de los pacientes vuelve a "
            "casa el mismo día.\n\n"
            "También tiene un título en salud pública y sigue de cerca las investigaciones: le "
            "dirá qué puede esperar de un procedimiento alguien como usted, y qué no."
        ),
        "languages": "en pl",
        "locations": ["main-clinic", "eastside"],
        "treatments": [
            "mild-procedure",
            "interspinous-spacer",
            "sacroiliac-joint-fusion",
            "minimally-invasive-si-joint-implant",
            "percutaneous-discectomy",
            "kyphoplasty-and-vertebroplasty",
        ],
        "look": {
            "background": "#d6e4f2",
            "skin": "#f0c9a8",
            "skin_shade": "#e0b592",
            "hair": "#8a6a45",
            "hair_style": "bald",
            "glasses": True,
            "shirt": "#34495e",
        },
    },
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
            help="Only the practice and its locations, not the condition, treatment and doctors' "
            "pages.",
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
        if add_location_details():
            created.append("parking and transit details")
        if not InsurancePlan.objects.exists():
            add_insurance_plans()
            created.append("insurance plans")
        if not PatientForm.objects.exists():
            add_patient_forms()
            created.append("forms for patients")
        if add_spanish():
            created.append("the Spanish wording")
        self.stdout.write(
            f"Demo data: added {', '.join(created)}." if created else "Demo data already present."
        )
        if not without_pages:
            call_command("import_content", stdout=self.stdout)
            approved = approve_demo_pages()
            self.stdout.write(f"Approved {approved} page(s) as the demo clinical reviewer.")
            # After the pages: the doctors' pages link to the treatments they perform.
            added = add_demo_providers()
            self.stdout.write(f"Doctors: added {added}." if added else "Doctors already present.")


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


def add_location_details():
    """Parking, transit and accessibility for the demo's own locations that have none of them
    yet (loaded before these fields existed). Returns how many locations."""
    added = 0
    empty = {f"{field}_en": "" for field in LOCATION_DETAILS}
    for data in LOCATIONS:
        for location in Location.objects.filter(slug=data["slug"], **empty):
            for field in LOCATION_DETAILS:
                setattr(location, f"{field}_en", data[field])
            location.save(update_fields=[f"{field}_en" for field in LOCATION_DETAILS])
            added += 1
    return added


def add_insurance_plans():
    # One save each, not bulk_create(): save() derives what search compares.
    positions = {}
    for kind, name, also_called, accepted, (note, note_es) in INSURANCE_PLANS:
        positions[kind] = positions.get(kind, -1) + 1
        InsurancePlan.objects.create(
            kind=kind,
            name=name,
            also_called=also_called,
            accepted=accepted,
            note_en=note,
            note_es=note_es,
            position=positions[kind],
        )


def add_patient_forms():
    """The demo's forms, as PDFs made here: our own, so not scanned (make run has no clamd)."""
    for position, (title, language, description, lines) in enumerate(PATIENT_FORMS):
        PatientForm.objects.create(
            title=title,
            language=language,
            description=description,
            file=ContentFile(form_pdf(title, lines), name="form.pdf"),
            position=position,
        )


def form_pdf(title, lines):
    """A one-page letter-size PDF: the title, then a line to write on for each item. Helvetica
    in WinAnsi encoding, which has Spanish's accented letters and ¿."""
    document = pikepdf.new()
    font = document.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font,
            Subtype=pikepdf.Name.Type1,
            BaseFont=pikepdf.Name.Helvetica,
            Encoding=pikepdf.Name.WinAnsiEncoding,
        )
    )

    def text(x, y, size, words):
        escaped = words.encode("cp1252").replace(b"\\", b"\\\\")
        escaped = escaped.replace(b"(", b"\\(").replace(b")", b"\\)")
        return b"BT /F1 %d Tf %d %d Td (%s) Tj ET\n" % (size, x, y, escaped)

    content = text(72, 710, 18, title)
    for number, line in enumerate(lines):
        y = 660 - number * 48
        content += text(72, y, 11, line) + b"72 %d m 540 %d l S\n" % (y - 22, y - 22)
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=[0, 0, 612, 792],
        Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
        Contents=document.make_stream(content),
    )
    document.pages.append(pikepdf.Page(page))
    document.docinfo["/Title"] = title
    output = io.BytesIO()
    document.save(output, deterministic_id=True)
    return output.getvalue()


def demo_reviewer():
    """The demo clinician's account: in the Clinical reviewer group, unable to log in."""
    from conditions.content_format import CONTENT_DIR, read_site
    from conditions.models import Reviewer

    site = read_site(CONTENT_DIR)
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


def add_demo_providers():
    """The demo doctors, with their illustrated portraits, into an empty table (so a doctor
    staff deleted stays deleted). Returns how many were added."""
    if Provider.objects.exists():
        return 0
    from conditions.models import Treatment

    locations = {location.slug: location for location in Location.objects.all()}
    treatments = Treatment.objects.in_bulk(
        [slug for data in PROVIDERS for slug in data["treatments"]], field_name="slug"
    )
    for position, data in enumerate(PROVIDERS):
        fields = {
            key: value
            for key, value in data.items()
            if key not in {"locations", "treatments", "look"}
        }
        provider = Provider.objects.create(
            **fields,
            portrait=_publish_illustration(data["look"]),
            portrait_is_illustration=True,
            position=position,
            published=True,
        )
        # Those that exist: staff may have deleted a location, and pages may not be loaded.
        provider.locations.set(filter(None, map(locations.get, data["locations"])))
        provider.treatments.set(filter(None, map(treatments.get, data["treatments"])))
    return len(PROVIDERS)


def _publish_illustration(look):
    """Through the same checks and renditions as a portrait uploaded in the admin."""
    encoded = io.BytesIO()
    illustrated_portrait(look).save(encoded, "PNG")
    return portraits.publish(portraits.check(ContentFile(encoded.getvalue())))


PORTRAIT_SIZE = 640
SCALE = 2  # drawn at twice the size, then scaled down: smooth edges
COAT, COAT_SHADE, STETHOSCOPE, EYES, MOUTH = "#ffffff", "#d5dbe0", "#3b4650", "#2b2b2b", "#7a3b32"


def illustrated_portrait(look):
    """A flat head-and-shoulders drawing in a white coat, from a few colours and shapes.

    No photo of a real person stands in for a fictional doctor. The same look always gives
    the same picture, so loading the demo again writes no new files.
    """
    image = Image.new("RGB", (PORTRAIT_SIZE * SCALE,) * 2, look["background"])
    draw = ImageDraw.Draw(image)

    def box(*coords):
        return [value * SCALE for value in coords]

    hair, skin, shade, style = look["hair"], look["skin"], look["skin_shade"], look["hair_style"]
    if style == "long":  # behind the head and shoulders
        draw.rounded_rectangle(box(196, 170, 444, 470), radius=110 * SCALE, fill=hair)
    # The coat, the shirt in its opening, the lapels.
    draw.ellipse(box(70, 470, 570, 900), fill=COAT)
    draw.polygon(box(262, 478, 378, 478, 320, 600), fill=look["shirt"])
    draw.line(box(262, 478, 320, 600, 378, 478), fill=COAT_SHADE, width=6 * SCALE)
    draw.line(box(230, 500, 288, 640), fill=COAT_SHADE, width=5 * SCALE)
    draw.line(box(410, 500, 352, 640), fill=COAT_SHADE, width=5 * SCALE)
    # The neck, the stethoscope around it, the ears and the head.
    draw.rounded_rectangle(box(282, 380, 358, 500), radius=20 * SCALE, fill=shade)
    draw.arc(box(236, 420, 404, 600), 20, 160, fill=STETHOSCOPE, width=9 * SCALE)
    draw.ellipse(box(372, 560, 408, 596), fill="#8a96a0", outline=STETHOSCOPE, width=5 * SCALE)
    draw.ellipse(box(208, 250, 248, 320), fill=shade)
    draw.ellipse(box(392, 250, 432, 320), fill=shade)
    draw.ellipse(box(220, 150, 420, 410), fill=skin)
    # The hair on top.
    if style == "bald":
        draw.chord(box(214, 190, 426, 330), 150, 210, fill=hair)
        draw.chord(box(214, 190, 426, 330), 330, 30, fill=hair)
    else:
        draw.chord(box(214, 136, 426, 330), 180, 360, fill=hair)
    if style == "bun":
        draw.ellipse(box(272, 88, 368, 180), fill=hair)
    if style == "side_part":
        draw.polygon(box(300, 160, 420, 226, 424, 260, 350, 214), fill=hair)
    # The face.
    brows = EYES if style == "bald" else hair
    draw.ellipse(box(272, 262, 288, 280), fill=EYES)
    draw.ellipse(box(352, 262, 368, 280), fill=EYES)
    draw.line(box(264, 246, 294, 242), fill=brows, width=5 * SCALE)
    draw.line(box(346, 242, 376, 246), fill=brows, width=5 * SCALE)
    if look.get("beard"):
        draw.chord(box(232, 250, 408, 412), 10, 170, fill=hair)
    smile = "#f2f2f2" if look.get("beard") else MOUTH  # light on a dark beard
    draw.arc(box(290, 300, 350, 350), 20, 160, fill=smile, width=5 * SCALE)
    if look.get("glasses"):
        draw.ellipse(box(252, 246, 308, 298), outline=STETHOSCOPE, width=5 * SCALE)
        draw.ellipse(box(332, 246, 388, 298), outline=STETHOSCOPE, width=5 * SCALE)
        draw.line(box(308, 270, 332, 270), fill=STETHOSCOPE, width=5 * SCALE)
    return image.resize((PORTRAIT_SIZE, PORTRAIT_SIZE), Image.Resampling.LANCZOS)
