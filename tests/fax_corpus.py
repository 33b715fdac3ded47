"""Synthetic faxed referrals, with what the extractor should find in each.

Every person, practice and number is made up (phone numbers in the 555-01xx range kept for
fiction). A seeded generator draws the referral, lays it out as one of several layouts, prints
it as a fax machine would (text on a 1728-dot line, a degree or two askew, specks, 1-bit) and
saves it as a Group 4 TIFF or as a PDF of that image, at fine (204x196 dpi) or standard
(204x98 dpi, half the rows) resolution; or as a digital PDF with real text.

    faxes = generate(20, seed=16)   # [Fax(data, content_type, truth, ...)]
"""

import datetime
import io
import random
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf
from PIL import Image, ImageDraw, ImageFont

FONTS = Path("/usr/share/fonts/truetype/dejavu")
FINE, STANDARD, DIGITAL = "fine", "standard", "digital"
TIFF, PDF = "image/tiff", "application/pdf"
LAYOUTS = ("form", "table", "letter", "cover", "heading")
PAGE_WIDTH, PAGE_HEIGHT = 1728, 2200  # a letter page at 204x196 dpi
MARGIN = 110

FIRST_NAMES = [
    "Jane",
    "Marcus",
    "Elena",
    "Robert",
    "Priya",
    "Thomas",
    "Alicia",
    "Dmitri",
    "Grace",
    "Samuel",
    "Nora",
    "Victor",
    "Helen",
    "Oscar",
    "Rosa",
    "Walter",
]
LAST_NAMES = [
    "Doe",
    "Whitfield",
    "Okafor",
    "Lindqvist",
    "Castellano",
    "Brennan",
    "Haddad",
    "Novak",
    "Pemberton",
    "Ashworth",
    "Delgado",
    "Kowalczyk",
    "Marsh",
    "Ferreira",
]
REFERRERS = [
    ("Maria", "Lopez"),
    ("James", "Chen"),
    ("Aisha", "Rahman"),
    ("Peter", "Gallo"),
    ("Linda", "Osei"),
    ("Karl", "Bergman"),
    ("Ruth", "Adebayo"),
    ("Sean", "Whelan"),
]
PRACTICES = [
    "Lakeside Family Medicine",
    "North Shore Internal Medicine",
    "Prairie Orthopedic Associates",
    "Riverside Primary Care",
    "Westbrook Medical Group",
    "Oak Park Family Health Center",
]
AREA_CODES = ["312", "773", "847", "630", "708"]
ICD10 = ["M96.1", "M54.16", "M54.50", "G89.4", "M47.816", "M51.26"]
REASONS = [
    "Chronic low back pain radiating to the left leg for eight months despite physical therapy "
    "and NSAIDs. Please evaluate for epidural steroid injection.",
    "Persistent axial low back pain after L4-L5 laminectomy in 2019. Failed conservative care; "
    "requesting evaluation for spinal cord stimulation.",
    "Lumbar radiculopathy with MRI showing a disc herniation at L5-S1. Please evaluate and treat.",
    "Facet-mediated low back pain, worse with extension. Request evaluation for medial branch "
    "blocks and radiofrequency ablation.",
    "Chronic pain syndrome with lumbar spondylosis. Patient is interested in interventional "
    "options to reduce opioid use.",
]  # fmt: skip
DATE_FORMATS = ("%m/%d/%Y", "{month}/{day}/%Y", "%m-%d-%Y", "%B {day}, %Y", "%b {day} %Y")


@dataclass
class Referral:
    first_name: str
    last_name: str
    born: datetime.date
    phone: str  # (312) 555-0123
    referrer_first: str
    referrer_last: str
    practice: str
    practice_phone: str
    practice_fax: str
    npi: str
    codes: list
    urgent: bool
    reason: str
    date_format: str


@dataclass
class Fax:
    data: bytes
    content_type: str
    truth: dict  # {field: value}, as extract() should return them
    layout: str
    resolution: str  # fine, standard or digital
    pages: int
    description: str = field(default="")


def npi_with_check_digit(first_nine):
    """The 10-digit NPI whose Luhn check digit (over 80840 + the nine digits) is right."""
    total = 0
    for position, digit in enumerate(reversed("80840" + first_nine)):
        number = int(digit) * (1 if position % 2 else 2)
        total += number - 9 if number > 9 else number
    return first_nine + str((10 - total % 10) % 10)


def e164(phone):
    return "+1" + "".join(char for char in phone if char.isdigit())


def random_phone(rng, area=None):
    return f"({area or rng.choice(AREA_CODES)}) 555-01{rng.randint(0, 99):02d}"


def random_referral(rng):
    practice_area = rng.choice(AREA_CODES)
    practice_number = rng.randint(0, 49) * 2
    return Referral(
        first_name=rng.choice(FIRST_NAMES),
        last_name=rng.choice(LAST_NAMES),
        born=datetime.date(1935, 1, 1) + datetime.timedelta(days=rng.randint(0, 365 * 70)),
        phone=random_phone(rng),
        referrer_first=(referrer := rng.choice(REFERRERS))[0],
        referrer_last=referrer[1],
        practice=rng.choice(PRACTICES),
        practice_phone=f"({practice_area}) 555-01{practice_number:02d}",
        practice_fax=f"({practice_area}) 555-01{practice_number + 1:02d}",
        npi=npi_with_check_digit("1" + "".join(str(rng.randint(0, 9)) for _ in range(8))),
        codes=rng.sample(ICD10, rng.randint(1, 3)),
        urgent=rng.random() < 0.4,
        reason=rng.choice(REASONS),
        date_format=rng.choice(DATE_FORMATS),
    )


def written_date(date, date_format):
    return date.strftime(date_format.format(month=date.month, day=date.day))


def truth_of(referral, layout):
    truth = {
        "first_name": referral.first_name,
        "last_name": referral.last_name,
        "date_of_birth": referral.born.isoformat(),
        "phone": e164(referral.phone),
        "referrer_name": f"Dr. {referral.referrer_first} {referral.referrer_last}",
        "referrer_practice": referral.practice,
        "referrer_phone": e164(referral.practice_phone),
        "referrer_fax": e164(referral.practice_fax),
        "referrer_npi": referral.npi,
        "icd10_codes": ", ".join(referral.codes),
        "reason": letter_reason(referral) if layout == "letter" else referral.reason,
    }
    if referral.urgent:
        truth["urgency"] = "urgent"
    return truth


# Layouts: each returns a list of pages, a page being a list of (text, style) lines; style is
# "title", "bold", "small" or "" (body). An empty text is a blank line.


def letterhead(referral):
    return [
        (referral.practice, "title"),
        ("1450 West Addison Street, Suite 210, Chicago, IL 60613", "small"),
        (f"Tel {referral.practice_phone}  ·  Fax {referral.practice_fax}", "small"),
        ("", ""),
    ]


def urgency_line(referral):
    return f"Priority: {'URGENT - please schedule ASAP' if referral.urgent else 'Routine'}"


def wrapped(label, text, width=72):
    lines = textwrap.wrap(f"{label}{text}", width)
    return [(line, "") for line in lines]


def form_layout(referral):
    dob = written_date(referral.born, referral.date_format)
    return [
        [
            *letterhead(referral),
            ("REFERRAL FOR CONSULTATION", "bold"),
            ("To: Spine & Pain Center  Fax: (773) 555-0199", ""),
            ("", ""),
            (f"Patient: {referral.first_name} {referral.last_name}", ""),
            (f"DOB: {dob}", ""),
            (f"Phone: {referral.phone}", ""),
            ("Insurance: Blue Cross PPO", ""),
            ("", ""),
            (f"Referring Physician: Dr. {referral.referrer_first} {referral.referrer_last}", ""),
            (f"NPI: {referral.npi}", ""),
            (f"Diagnosis (ICD-10): {', '.join(referral.codes)}", ""),
            (urgency_line(referral), ""),
            ("", ""),
            *wrapped("Reason for referral: ", referral.reason),
        ]
    ]


def table_layout(referral):
    dob = written_date(referral.born, referral.date_format)
    codes = "; ".join(referral.codes)
    return [
        [
            ("PATIENT REFERRAL FORM", "title"),
            ("", ""),
            ("PATIENT INFORMATION", "bold"),
            (f"Patient Name: {referral.last_name.upper()}, {referral.first_name.upper()}", ""),
            (f"Date of Birth: {dob}      Sex: F", ""),
            (f"Home Phone: {referral.phone}", ""),
            ("", ""),
            ("REFERRING PROVIDER", "bold"),
            (f"Provider: {referral.referrer_first} {referral.referrer_last}, MD", ""),
            (f"NPI: {referral.npi}", ""),
            (f"Practice: {referral.practice}", ""),
            (f"Phone: {referral.practice_phone}      Fax: {referral.practice_fax}", ""),
            ("", ""),
            ("DIAGNOSIS", "bold"),
            (f"ICD-10: {codes}", ""),
            (urgency_line(referral), ""),
            ("", ""),
            ("REASON FOR REFERRAL", "bold"),
            *wrapped("", referral.reason),
        ]
    ]


def letter_reason(referral):
    pronoun = "I am referring"
    return f"{pronoun} {referral.first_name} to you for evaluation. {referral.reason}"


def letter_layout(referral):
    dob = written_date(referral.born, referral.date_format)
    urgent = (
        ["", "Given the severity of the pain, an urgent appointment would be appreciated."]
        if referral.urgent
        else []
    )
    body = [
        *letterhead(referral),
        ("November 27, 2026", ""),
        ("", ""),
        ("Spine & Pain Center", ""),
        ("Attn: New Patient Referrals", ""),
        ("", ""),
        ("Dear Colleague,", ""),
        ("", ""),
        *wrapped(
            "",
            f"Thank you for seeing my patient {referral.first_name} {referral.last_name} "
            f"(date of birth {dob}).",
        ),
        ("", ""),
        *wrapped("", letter_reason(referral)),
        ("", ""),
        *wrapped(
            "",
            f"The patient can be reached at {referral.phone}. Diagnoses: "
            f"{', '.join(referral.codes)}.",
        ),
        *[(line, "") for line in urgent],
        ("", ""),
        ("Sincerely,", ""),
        ("", ""),
        (f"{referral.referrer_first} {referral.referrer_last}, MD", ""),
        (f"NPI {referral.npi}", ""),
    ]
    return [body]


def cover_page(referral, pages):
    urgent_box = "[X] Urgent" if referral.urgent else "[ ] Urgent"
    return [
        ("FAX", "title"),
        ("", ""),
        ("To: Spine & Pain Center", ""),
        ("Fax: (773) 555-0199", ""),
        ("", ""),
        (f"From: {referral.practice}", ""),
        (f"Phone: {referral.practice_phone}", ""),
        (f"Fax: {referral.practice_fax}", ""),
        ("", ""),
        ("Date: 11/29/2026", ""),
        (f"Pages: {pages} (including cover)", ""),
        ("Re: New patient referral", ""),
        ("", ""),
        (f"{urgent_box}   [ ] For review   [ ] Please reply", ""),
        ("", ""),
        ("CONFIDENTIALITY NOTICE: This fax contains protected health information.", "small"),
        ("If you received it in error, please call the sender and destroy it.", "small"),
    ]


def heading_page(referral):
    """A referral page whose patient block is a "Name:" under a PATIENT heading."""
    dob = written_date(referral.born, referral.date_format)
    return [
        ("Referral Request", "title"),
        ("", ""),
        ("PATIENT", "bold"),
        (f"Name: {referral.last_name}, {referral.first_name}", ""),
        (f"DOB: {dob}", ""),
        (f"Cell: {referral.phone}", ""),
        ("", ""),
        ("REFERRING PHYSICIAN", "bold"),
        (f"Name: Dr. {referral.referrer_first} {referral.referrer_last}", ""),
        (f"NPI: {referral.npi}", ""),
        ("", ""),
        (f"Diagnosis: {', '.join(referral.codes)}", ""),
        (urgency_line(referral), ""),
        *wrapped("Reason for referral: ", referral.reason),
    ]


def cover_layout(referral):
    return [cover_page(referral, 2), heading_page(referral)]


def heading_layout(referral):
    """Cover sheet, the referral, and a page of notes: three pages."""
    notes = [
        ("Progress notes", "title"),
        ("", ""),
        *wrapped(
            "",
            "Patient seen in clinic. Pain 7/10. Gait antalgic. Straight leg raise positive on "
            "the left. Continue current medications pending pain clinic evaluation.",
        ),
    ]
    return [cover_page(referral, 3), heading_page(referral), notes]


LAYOUT_PAGES = {
    "form": form_layout,
    "table": table_layout,
    "letter": letter_layout,
    "cover": cover_layout,
    "heading": heading_layout,
}


def fax_header(referral, number, pages):
    sender = referral.practice.upper()[:22]
    return (
        f"NOV 29 2026 10:14AM  FROM: {sender}  {referral.practice_fax}  "
        f"TO: 7735550199  P.{number}/{pages}"
    )


def font(style):
    if style == "title":
        return ImageFont.truetype(str(FONTS / "DejaVuSans-Bold.ttf"), 44)
    if style == "bold":
        return ImageFont.truetype(str(FONTS / "DejaVuSans-Bold.ttf"), 34)
    if style == "small":
        return ImageFont.truetype(str(FONTS / "DejaVuSans.ttf"), 27)
    return ImageFont.truetype(str(FONTS / "DejaVuSans.ttf"), 33)


def drawn_page(lines, header, rng, skew):
    """The page as a fax machine prints it at fine resolution: 1-bit, askew, speckled."""
    page = Image.new("L", (PAGE_WIDTH, PAGE_HEIGHT), 255)
    draw = ImageDraw.Draw(page)
    draw.text((40, 22), header, font=ImageFont.truetype(str(FONTS / "DejaVuSansMono.ttf"), 24))
    y = 150
    for text, style in lines:
        if text:
            draw.text((MARGIN, y), text, font=font(style), fill=0)
        y += 58 if style == "title" else 48
    page = page.rotate(skew, resample=Image.Resampling.BICUBIC, fillcolor=255)
    draw = ImageDraw.Draw(page)
    for _ in range(rng.randint(150, 400)):
        x, y = rng.randrange(PAGE_WIDTH), rng.randrange(PAGE_HEIGHT)
        size = rng.choice((1, 1, 2, 3))
        draw.rectangle((x, y, x + size - 1, y + size - 1), fill=0)
    return page


def to_fax_resolution(page, resolution):
    """1-bit at 204x196 dpi, or standard 204x98 dpi by halving the height."""
    if resolution == STANDARD:
        page = page.resize((page.width, page.height // 2), Image.Resampling.BOX)
    return page.point(lambda value: 255 if value > 150 else 0).convert("1")


def digital_pdf(pages):
    """A PDF with real text (Helvetica), one page per list of lines."""
    document = pikepdf.new()
    helvetica = pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica,
        Encoding=pikepdf.Name.WinAnsiEncoding,
    )  # fmt: skip
    for lines in pages:
        commands = ["BT", "/F1 11 Tf", "14 TL", "60 740 Td"]
        for text, style in lines:
            size = {"title": 15, "bold": 12, "small": 9}.get(style, 11)
            escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            escaped = escaped.encode("cp1252", "replace").decode("latin-1")
            commands += [f"/F1 {size} Tf", f"({escaped}) Tj", "T*"]
        commands.append("ET")
        stream = pikepdf.Stream(document, "\n".join(commands).encode("latin-1"))
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page, MediaBox=[0, 0, 612, 792], Contents=stream,
            Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=helvetica)),
        )  # fmt: skip
        document.pages.append(pikepdf.Page(page))
    output = io.BytesIO()
    document.save(output, deterministic_id=True)
    return output.getvalue()


def make_fax(rng, layout, resolution, content_type):
    referral = random_referral(rng)
    pages = LAYOUT_PAGES[layout](referral)
    truth = truth_of(referral, layout)
    description = f"{layout}, {resolution}, {content_type.split('/')[1]}, {len(pages)} p."
    if resolution == DIGITAL:
        return Fax(digital_pdf(pages), PDF, truth, layout, resolution, len(pages), description)
    skew = rng.choice((-1, 1)) * rng.uniform(1, 2)
    images = [
        to_fax_resolution(
            drawn_page(lines, fax_header(referral, number, len(pages)), rng, skew), resolution
        )
        for number, lines in enumerate(pages, start=1)
    ]
    dpi = (204, 196) if resolution == FINE else (204, 98)
    output = io.BytesIO()
    if content_type == TIFF:
        images[0].save(
            output, format="TIFF", compression="group4", dpi=dpi, save_all=True,
            append_images=images[1:],
        )  # fmt: skip
    else:
        images[0].save(output, format="PDF", dpi=dpi, save_all=True, append_images=images[1:])
    return Fax(output.getvalue(), content_type, truth, layout, resolution, len(pages), description)


def page_texts(referral, layout):
    """The text of each page as a perfect reader would give it, fax header included."""
    pages = LAYOUT_PAGES[layout](referral)
    return [
        "\n".join([fax_header(referral, number, len(pages)), *(text for text, _ in lines)])
        for number, lines in enumerate(pages, start=1)
    ]


def generate(count, seed=16):
    """`count` faxes cycling through every layout, both resolutions, TIFF and scanned PDF."""
    rng = random.Random(seed)
    kinds = [(FINE, TIFF), (STANDARD, TIFF), (FINE, PDF), (STANDARD, PDF)]
    faxes = []
    for index in range(count):
        layout = LAYOUTS[index % len(LAYOUTS)]
        resolution, content_type = kinds[
            (index % len(LAYOUTS) + index // len(LAYOUTS)) % len(kinds)
        ]
        faxes.append(make_fax(rng, layout, resolution, content_type))
    return faxes
