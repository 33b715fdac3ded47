"""Suggestions for a request's fields from the text of a faxed referral.

Referrals come as forms ("Patient: Jane Doe", "Patient Name: DOE, JANE", a "Name:" under a
PATIENT heading), as letters ("my patient Jane Doe (date of birth March 14, 1961)"), often
behind a cover sheet. Each line is read as labelled values ("DOB: 03/14/1961"), and who a
label belongs to (the patient, the referring office, the recipient) follows from the headings
and labels above it: a "Phone:" under the referring physician, in the letterhead or in the
fax machine's header line is never the patient's.

Every value is a suggestion that staff check against the page it names; a field is left out
rather than guessed (a date of birth that does not parse cleanly is not suggested).
"""

import datetime
import re
from dataclasses import dataclass

import phonenumbers
from django.utils import timezone

from appointments.icd10cm import look_up
from appointments.validators import ICD10_CODE, is_valid_npi, join_icd10_codes

MAX_REASON = 2000


@dataclass(frozen=True)
class Suggestion:
    value: str
    page: int


# Labels as referral forms write them, each with the field it gives. Longer labels first, so
# "Patient Name" wins over "Patient" and "Referring Physician" over "Physician".
LABELS = [
    (r"reason for (?:referral|consult(?:ation)?)|referral reason|reason", "reason"),
    (r"referring (?:physician|provider|doctor|md)|referred by|ordering (?:physician|provider)",
     "referrer_name"),
    (r"patient(?:'s)? name|pt\.? name|patient", "patient_name"),
    (r"name", "name"),
    (r"date of birth|birth ?date|d\.?o\.?b\.?", "date_of_birth"),
    (r"np[i1l!|](?: ?(?:#|no\.?|number))?", "npi"),
    (r"(?:home |cell |mobile |work |office )?(?:phone|[tf]e[li1!](?:ephone)?|ph)"
     r"(?: ?(?:#|no\.?|number))?|cell|mobile", "phone"),
    (r"fax(?: ?(?:#|no\.?|number))?", "fax"),
    (r"practice(?: name)?|clinic|facility|organi[sz]ation|group", "practice"),
    (r"physician|provider|doctor", "physician"),
    (r"icd-? ?10(?: codes?)?|diagnos[ie]s(?: codes?)?(?: \(icd-? ?10\))?|dx", "icd10"),
    (r"priority|urgency", "urgency"),
    (r"from", "from"),
    (r"to|attn|attention", "to"),
    (r"re|subject|pages?|date|address|insurance|member id|email|e-mail|sex|gender|ssn", "other"),
]  # fmt: skip
# OCR may widen the space between a label's words ("Date of  Birth:"): any run of spaces.
_SPACED = [pattern.replace(" ?", r"\s*").replace(" ", r"\s+") for pattern, _ in LABELS]
LABEL = re.compile(
    r"(?<![\w'])(?P<label>" + "|".join(f"(?:{pattern})" for pattern in _SPACED) + r")"
    # A form may say how to write the value between its label and the colon: "(MM/DD/YYYY)".
    r"\s*(?:(?:\([^()\n]{1,15}\)\s*)?(?P<colon>[:;])|[-–]?(?=\s*[\d(]))",
    re.IGNORECASE,
)
LABEL_FIELDS = [(re.compile(rf"(?:{pattern})$", re.IGNORECASE), field) for pattern, field in LABELS]

# Labels whose value is a number may go without a colon: "Fax (312) 555-0101", "NPI 1234567893".
NUMERIC_LABEL = re.compile(r"np[i1l!|]|fax|[tf]e[li1!]|phone|ph|cell|mobile|dob|d\.o\.b", re.I)
LETTERHEAD_LINES = 3
# Headings that say whose details follow.
PATIENT_HEADING = re.compile(r"^\W*patient\s*(information|demographics|details|info)?\W*$", re.I)
REFERRER_HEADING = re.compile(
    r"^\W*(referring|referral source|provider|physician|sender|from)\b[^:]*$", re.I
)
RECIPIENT_HEADING = re.compile(r"^\W*(recipient|to)\s*(information|details|info)?\W*$", re.I)
# The line a fax machine prints at the top of each page it sends.
FAX_HEADER = re.compile(
    r"\bP(?:age)?\.?\s*\d+\s*/\s*\d+\s*$|\bFROM\b.*\bTO\b|\d{1,2}:\d{2}\s*[AP]M\b.*\bFROM\b",
    re.IGNORECASE,
)
COVER_SHEET = re.compile(r"\bfax\b.*\bcover\b|\bcover sheet\b|\bpages?\b.*\bincluding\b", re.I)

PHONE_NUMBER = re.compile(r"(?<!\d)(?:\+?1[\s.-]*)?\(?\d{3}\)?[\s.,-]*\d{3}[\s.-]*\d{4}(?!\d)")
# OCR's confusions, undone where only digits belong.
DIGIT_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "D": "0", "l": "1", "I": "1", "|": "1",
                                  "i": "1", "S": "5", "s": "5", "B": "8", "Z": "2"})  # fmt: skip

MONTHS = {
    name: number
    for number, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
         ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
         ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
         ("december", "dec")],
        start=1,
    )
    for name in names
}  # fmt: skip
NUMERIC_DATE = re.compile(r"(?<![\w/.-])(\d{1,2})\s?([/.-])\s?(\d{1,2})\s?\2\s?(\d{4})(?![\w/-])")
WORD_DATE = re.compile(r"(?<!\w)([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:,\s*|\s+)(\d{4})(?!\w)")
DIGITISH = r"[\dOoDlI|iSsBZ]"
DATE_CANDIDATE = re.compile(
    rf"{DIGITISH}{{1,2}}\s?[/.-]\s?{DIGITISH}{{1,2}}\s?[/.-]\s?{DIGITISH}{{4}}"
    rf"|[A-Za-z]{{3,9}}\.?\s+{DIGITISH}{{1,2}}(?:,\s*|\s+){DIGITISH}{{4}}"
)

NAME_WORD = r"[A-Z][A-Za-z'’-]+"
PERSON = rf"{NAME_WORD}(?:\s+[A-Z]\.?)?\s+{NAME_WORD}"
# A name begins with a capital: "my patient who has…" names no one.
LETTER_PATIENT = re.compile(
    rf"(?i:\bmy patient,?\s+(?:(?:Mr|Mrs|Ms|Miss)\.?\s+)?)(?P<name>{PERSON})"
)
# The date must follow at once ("born on", "whose date of birth is" allowed): a date further on
# in the sentence is another event's ("born in Chicago, was first seen on 03/14/2019").
LETTER_DATE_OF_BIRTH = re.compile(
    r"\b(?:date of birth|d\.?o\.?b\.?|born(?: on)?)(?:\s+(?:is|was))?[:\s]*", re.I
)
LETTER_PHONE = re.compile(
    r"\b(?:reached|contacted|called)\s+(?:at|on)\b|\b(?:her|his|their|patient's) "
    r"(?:phone|telephone|cell|number)\b",
    re.IGNORECASE,
)
LETTER_REASON = re.compile(
    r"(?<!\w)(?:(?:[Il1|]\s?)?am|I'm|we are)\s+referring\b"
    r"|\bI(?: would like| am writing) to refer\b",
    re.IGNORECASE,
)
CLOSING = re.compile(r"^\s*(sincerely|regards|best regards|kind regards|respectfully|thank you)"
                     r"\b", re.I)  # fmt: skip
TITLE = re.compile(r"^\W*(?:dr[.,]?|doctor)\s+", re.IGNORECASE)
CREDENTIALS = re.compile(
    r"[,\s]+(m\.?\s?d\.?|d\.?\s?o\.?|n\.?p\.?|pa-?c|p\.?a\.?|fnp(?:-c)?|aprn|dnp|mbbs|phd|facp|"
    r"faafp)\W*$",
    re.IGNORECASE,
)
PHYSICIAN_CREDENTIALS = {"md", "do"}
PRACTICE_WORDS = re.compile(
    r"\b(medicine|medical|clinic|health|associates|practice|group|center|centre|care|"
    r"physicians|pediatrics|orthopedics?|internal|family)\b",
    re.IGNORECASE,
)
ICD10_LOOSE = re.compile(
    r"(?<![\w.])([A-Z])([\dOolIS]{2}|[\dOolIS][A-Z])(?:[.,](?=[\dA-Zol]))?([\dA-Zol]{1,4})?"
    r"(?![\w])"
)
URGENT_WORDS = re.compile(
    r"(?i:\b(?:urgent(?:ly)?(?! care)|asap|expedite[ds]?|emergent(?:ly)?)\b)|\bSTAT\b"
)
NOT_URGENT = re.compile(r"\b(non-?\s?urgent|not urgent|not an emergency)\b", re.IGNORECASE)
CHECKBOX_LINE = re.compile(r"for review|please (?:comment|reply|recycle|call)", re.IGNORECASE)
CHECKED_URGENT = re.compile(r"[\[(]\s*[xX✓✔]\s*[\])]\s*urgent", re.IGNORECASE)


def extract(pages):
    """{field name: Suggestion} for the fields the pages give clearly; others are left out."""
    found = {}
    dates_of_birth = []
    for page in pages:
        _read_page(page, found, dates_of_birth)
    # The same date of birth read twice differently: trust neither.
    if len({value for value, _ in dates_of_birth}) == 1 and dates_of_birth[0][0]:
        found["date_of_birth"] = Suggestion(*dates_of_birth[0])
    _find_icd10_codes(pages, found)
    _find_urgency(pages, found)
    return found


def _suggest(found, field, value, page):
    if value and field not in found:
        found[field] = Suggestion(value, page.number)


def _lines(page):
    """The page's lines without the fax machine's header."""
    # Without the specks OCR reads as stray quotes and commas at either end.
    lines = [line.strip(" \t‘’'\"|_~") for line in page.text.splitlines()]
    return [line for line in lines if not FAX_HEADER.search(line)]


def _read_page(page, found, dates_of_birth):
    lines = _lines(page)
    cover_sheet = any(COVER_SHEET.search(line) for line in lines)
    # Before any heading or label, a page's top lines are its letterhead: the sender's; so are
    # the first lines under the sender's heading, on a cover sheet too.
    party = "referrer"
    letterhead = True
    top_lines = 0
    under_heading = False
    reason_lines = None
    for index, line in enumerate(lines):
        if reason_lines is not None:
            if not line and (not reason_lines or _in_sentence(reason_lines)):
                continue
            if not line or _labels(line, prose=True) or _is_heading(line) or CLOSING.match(line):
                _suggest(found, "reason", _joined(reason_lines), page)
                reason_lines = None
            else:
                reason_lines.append(line)
                if not cover_sheet:
                    _read_letter_patient(lines, index, found, dates_of_birth, page)
                continue
        if not line:
            continue
        labels = _labels(line)
        top_lines += 1
        if not labels and PATIENT_HEADING.match(line):
            party, letterhead = "patient", False
            continue
        if not labels and REFERRER_HEADING.match(line):
            party, letterhead, top_lines, under_heading = "referrer", True, 0, True
            continue
        if not labels and RECIPIENT_HEADING.match(line):
            party, letterhead = "recipient", False
            continue
        if re.fullmatch(r"\W*reason for (referral|consult(ation)?)\W*", line, re.I):
            reason_lines = []
            continue
        # The practice's name: the first lines of a letterhead, not the address it writes to.
        in_letterhead = (
            letterhead and top_lines <= LETTERHEAD_LINES and (under_heading or not cover_sheet)
        )
        if in_letterhead and _is_practice_name(line):
            _suggest(found, "referrer_practice", _clean_text(_without_specks(line)), page)
        for field, value in labels:
            letterhead = letterhead and field in ("phone", "fax")
            if field == "patient_name" or (field == "name" and party == "patient"):
                party = "patient"
                _suggest_name(found, value, page)
            elif field == "date_of_birth":
                born = _date_of_birth(value)
                if born:
                    dates_of_birth.append((born, page.number))
                elif DATE_CANDIDATE.search(value):
                    dates_of_birth.append((None, page.number))  # unreadable: not sure
            elif field == "phone":
                number = _phone(value)
                if party == "patient":
                    _suggest(found, "phone", number, page)
                elif party == "referrer":
                    _suggest(found, "referrer_phone", number, page)
            elif field == "fax" and party == "referrer":
                _suggest(found, "referrer_fax", _phone(value), page)
            elif field in ("referrer_name", "physician") or (
                field == "name" and party == "referrer"
            ):
                party = "referrer"
                _suggest(found, "referrer_name", _person(value), page)
            elif field == "from":
                party = "referrer"
                if _person(value) and (TITLE.match(value) or CREDENTIALS.search(value)):
                    _suggest(found, "referrer_name", _person(value), page)
                else:
                    _suggest(found, "referrer_practice", _clean_text(value), page)
            elif field == "to":
                party = "recipient"
            elif field == "practice" and party != "patient":
                _suggest(found, "referrer_practice", _clean_text(value), page)
            elif field == "npi":
                npi = _digits(value)[:10]
                if is_valid_npi(npi):
                    _suggest(found, "referrer_npi", npi, page)
            elif field == "reason":
                reason_lines = [value] if value else []
        # A labelled reason's own words ("Please evaluate…") are not a letter's sentences, but
        # may name the patient as one does ("Reason for referral: my patient Jane Doe has…").
        if not cover_sheet:
            if reason_lines is None:
                _read_letter_line(lines, index, found, dates_of_birth, page)
            else:
                _read_letter_patient(lines, index, found, dates_of_birth, page)
    if reason_lines:
        _suggest(found, "reason", _joined(reason_lines), page)


def _read_letter_line(lines, index, found, dates_of_birth, page):
    """What a letter says in sentences: my patient <name> (date of birth <date>), can be
    reached at <phone>, I am referring … (the reason), and the signature under "Sincerely"."""
    line = lines[index]
    _read_letter_patient(lines, index, found, dates_of_birth, page)
    if LETTER_PHONE.search(line):
        text = " ".join(lines[index : index + 2])
        _suggest(found, "phone", _phone(text[LETTER_PHONE.search(text).end() :]), page)
    if LETTER_REASON.search(line) and "reason" not in found:
        paragraph = [line[LETTER_REASON.search(line).start() :]]
        for following in lines[index + 1 :]:
            if not following and _in_sentence(paragraph):
                continue
            if not following or _labels(following, prose=True) or CLOSING.match(following):
                break
            paragraph.append(following)
        # OCR reads "I am" as "lam" or "| am".
        paragraph[0] = re.sub(r"^(?:[l1|]\s?am|am)\b", "I am", paragraph[0])
        _suggest(found, "reason", _joined(paragraph), page)
    if CLOSING.match(line):
        for following in lines[index + 1 : index + 4]:
            if following:
                if CREDENTIALS.search(following) or TITLE.match(following):
                    _suggest(found, "referrer_name", _person(following), page)
                return


def _read_letter_patient(lines, index, found, dates_of_birth, page):
    """The patient a letter's sentence names: my patient <name> (date of birth <date>)."""
    line = lines[index]
    # A sentence may go on to the next line, not past a blank one: after a paragraph break,
    # what follows "my patient" is not the patient's name.
    patient = LETTER_PATIENT.search(" ".join(lines[index : index + 2]))
    patient = patient if patient and patient.start() < len(line) else None
    if patient:  # a name already found stands (_suggest_name)
        _suggest_name(found, patient.group("name"), page)
    if patient or LETTER_DATE_OF_BIRTH.search(line):
        text = " ".join(lines[index : index + 2])
        mention = LETTER_DATE_OF_BIRTH.search(text, patient.end() if patient else 0)
        if mention:
            born = _date_of_birth(text[mention.end() :], at_start=True)
            if born:
                dates_of_birth.append((born, page.number))


def _labels(line, prose=False):
    """[(field, value)] for each label on the line, a value running to the next label. A reason
    is prose (from its label on, and on the lines that go on with it): there a label in
    parentheses is an aside of the sentence, not a field ("my patient Jane Doe (DOB
    03/14/1961) has…"); one outside them ends it ("Reason: low back pain   Phone: …")."""
    matches = []
    for match in LABEL.finditer(line):
        if _label_starts_field(line, match) and not (prose and _in_parentheses(line, match)):
            matches.append(match)
            prose = _field(match) == "reason"
    pairs = []
    for position, match in enumerate(matches):
        end = matches[position + 1].start() if position + 1 < len(matches) else len(line)
        pairs.append((_field(match), line[match.end() : end].strip(" \t:;|,")))
    return pairs


def _field(match):
    label = re.sub(r"\s+", " ", match.group("label"))
    return next(field for pattern, field in LABEL_FIELDS if pattern.match(label))


def _in_parentheses(line, match):
    before = line[: match.start()]
    return before.rfind("(") > before.rfind(")")


def _label_starts_field(line, match):
    """A label counts when it ends with a colon, or (for numbers) precedes one: "Fax (312)…",
    "NPI 1234567893"; not the word "phone" in a sentence."""
    if match.group("colon"):
        return True
    if not NUMERIC_LABEL.match(match["label"]):
        return False
    before = line[: match.start()].rstrip()
    return not before or not before[-1].isalpha()


def _is_practice_name(line):
    """A letterhead's first line: "Lakeside Family Medicine", a name and not a sentence."""
    words = _without_specks(line).split()
    return (
        bool(PRACTICE_WORDS.search(line))
        and len(words) <= 8
        and not re.search(r"[\d:@]", line)
        and all(word[0].isupper() or word in ("of", "and", "&", "the") for word in words)
    )


def _in_sentence(lines):
    """OCR sometimes breaks a paragraph with a blank line: one that ends mid-sentence goes on."""
    return not re.search(r"[.!?:]\W*$", lines[-1])


def _is_heading(line):
    letters = re.sub(r"[^A-Za-z]", "", line)
    return len(letters) >= 4 and letters.isupper() and len(line) < 60 and ":" not in line


def _joined(lines):
    text = re.sub(r"\s+", " ", " ".join(lines)).strip(" ,;:|‘’'\"-_~")
    return text[:MAX_REASON].strip() or None


def _clean_text(value):
    """A one-line value without the marks specks leave at either end ("Lakeside Medicine ©")."""
    value = re.sub(r"^[^\w(]+|[^\w)]+$", "", re.sub(r"\s+", " ", value))
    return value[:150] or None


def _digits(value):
    return re.sub(r"\D", "", value.translate(DIGIT_LOOKALIKES))


def _phone(value):
    """The first US phone number in the text, as E.164 (+13125550123), or None."""
    candidate = re.match(r"[\s(+]*[\dOolI|SBZ][\dOolI|SBZ().,\s-]{8,17}", value)
    if not candidate:
        return None
    match = PHONE_NUMBER.search(candidate.group().translate(DIGIT_LOOKALIKES))
    if not match:
        return None
    try:
        number = phonenumbers.parse(re.sub(r"\D", "", match.group()), "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number) or number.country_code != 1:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _date_of_birth(value, at_start=False):
    """The first date in the text (`at_start`: the date the text begins with), ISO formatted,
    when it is a plausible date of birth; None when it is not clearly one (we never guess a
    date of birth)."""
    candidate = (DATE_CANDIDATE.match if at_start else DATE_CANDIDATE.search)(value)
    if not candidate:
        return None
    text = candidate.group()
    words = WORD_DATE.fullmatch(text)
    if words and words.group(1).lower() in MONTHS:
        month = MONTHS[words.group(1).lower()]
        day, year = (int(part.translate(DIGIT_LOOKALIKES)) for part in words.group(2, 3))
    else:
        numeric = NUMERIC_DATE.fullmatch(text.translate(DIGIT_LOOKALIKES))
        if not numeric:
            return None
        month, day, year = int(numeric.group(1)), int(numeric.group(3)), int(numeric.group(4))
    try:
        born = datetime.date(year, month, day)
    except ValueError:
        return None
    # The clinic's day (TIME_ZONE), not the server's: they differ late in the evening.
    today = timezone.localdate()
    if not (today.year - 120 <= born.year and born < today):
        return None
    return born.isoformat()


def _suggest_name(found, value, page):
    """First and last name from "Jane Doe", "Jane M. Doe" or "DOE, JANE"."""
    value = re.split(r"\s{2,}|\(|\b(?:DOB|D\.O\.B|born)\b", value)[0]
    value = _without_specks(value).strip(" ,.;:")
    if "first_name" in found or not value or re.search(r"[\d@/]", value):
        return
    if "," in value:
        last, _, first = value.partition(",")
    else:
        words = value.split()
        if len(words) < 2:
            return
        first, last = words[0], words[-1]
    first = first.split()[0] if first.split() else ""
    last = last.strip()
    if not (_is_name(first) and _is_name(last)):
        return
    _suggest(found, "first_name", _name_case(first), page)
    _suggest(found, "last_name", _name_case(last), page)


def _without_specks(name):
    """A name without what specks add to it: full stops after a word ("Peter. Gallo"), marks at
    either end; "!" inside a word is an l ("Kar!")."""
    name = re.sub(r"(\w{3,})\.(?=\s)", r"\1", name)
    name = re.sub(r"(?<=[a-z])!", "l", name)
    return re.sub(r"^[^\w(]+|[^\w.]+$", "", name.strip())


def _is_name(word):
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z'’-]*(?: [A-Za-z][A-Za-z'’-]*)?", word)) and (
        len(word) > 1
    )


def _name_case(name):
    """Names written in capitals on forms ("DOE") as a person writes them ("Doe")."""
    if name.isupper() or name.islower():
        return "-".join(part.capitalize() for part in name.split("-"))
    return name


def _person(value):
    """A referring provider's name as staff write it in the field: "Dr. Maria Lopez" for a
    physician (Dr., MD, DO), "Anna Smith, NP" for other clinicians, or the bare name."""
    doctor = bool(TITLE.match(value))
    value = _without_specks(TITLE.sub("", value))
    value = re.split(r"\s{2,}|\(|,\s*(?=[A-Z][a-z]+\s)", value.strip())[0]
    value = re.sub(r"[^\w.]+$", "", value.strip()).strip(" ,.;:")
    credential = None
    match = CREDENTIALS.search(value)
    if match:
        credential = re.sub(r"[.\s]", "", match.group(1)).upper()
        value = value[: match.start()].strip(" ,.")
    # "Dr. Lopez's Office" is a place, not a person.
    if not re.fullmatch(PERSON, value) or re.search(r"\d|['’]s\b", value, re.IGNORECASE):
        return None
    value = " ".join(_name_case(word) for word in value.split())
    if doctor or (credential and credential.lower() in PHYSICIAN_CREDENTIALS):
        return f"Dr. {value}"
    return f"{value}, {credential}" if credential else value


def _find_icd10_codes(pages, found):
    """Codes on diagnosis lines (and any dotted code elsewhere), in order, once each."""
    codes, first_page = [], None
    for page in pages:
        lines = _lines(page)
        for index, line in enumerate(lines):
            on_diagnosis_line = any(field == "icd10" for field, _ in _labels(line)) or (
                re.match(r"\W*(diagnos[ie]s|icd-?\s?10)\b", line, re.I)
            )
            for match in ICD10_LOOSE.finditer(line):
                code = _icd10_code(match, dotted_only=not on_diagnosis_line)
                if code and code not in codes:
                    codes.append(code)
                    first_page = first_page or page
            # Codes may continue on the next line of a diagnosis block.
            if on_diagnosis_line and index + 1 < len(lines) and not _labels(lines[index + 1]):
                for match in ICD10_LOOSE.finditer(lines[index + 1]):
                    code = _icd10_code(match)
                    if code and code not in codes:
                        codes.append(code)
                        first_page = first_page or page
    if codes:
        found["icd10_codes"] = Suggestion(join_icd10_codes(codes[:12]), first_page.number)


def _icd10_code(match, dotted_only=False):
    letter, category, rest = match.group(1), match.group(2), match.group(3)
    dotted = bool(re.search(r"[.,]", match.group()))  # OCR reads some dots as commas
    if dotted_only and not dotted:
        return None
    category = category[0].translate(DIGIT_LOOKALIKES) + (
        category[1].translate(DIGIT_LOOKALIKES) if not category[1].isupper() or
        category[1] in "OISBZ" else category[1]
    )  # fmt: skip
    # After the dot, letters are real (S32.000A) but lowercase ones are OCR's digits.
    rest = rest.translate(str.maketrans("ol", "01")) if rest else ""
    suffix = f".{rest}" if rest else ""
    # A few categories end in a real capital B (C7B, secondary neuroendocrine tumors).
    as_written = letter + category[0].translate(DIGIT_LOOKALIKES) + match.group(2)[1] + suffix
    if match.group(2)[1].isupper() and look_up(as_written).exists:
        return as_written
    code = letter + category + suffix
    return code if ICD10_CODE.fullmatch(code) else None


def _find_urgency(pages, found):
    for page in pages:
        for line in _lines(page):
            if CHECKBOX_LINE.search(line):
                urgent = CHECKED_URGENT.search(line)
            else:
                urgent = URGENT_WORDS.search(line) and not NOT_URGENT.search(line)
            if urgent:
                found["urgency"] = Suggestion("urgent", page.number)
                return
