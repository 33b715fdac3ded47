"""Is this the same patient? Close names and possible matches between requests.

Plain functions: services.submit_request() calls them for every request, tests call them
directly. docs/decisions.md ("Possible matches and the resend fold") explains the rules.
"""

import datetime
import unicodedata

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, Levenshtein

from appointments.models import AppointmentRequest, PossibleMatch

# An earlier request counts while it is open, or for this long after it arrived.
MATCH_WINDOW = datetime.timedelta(days=90)

# Spelling variants of longer names (Elizabeth/Elisabeth, Christopher/Kristopher) score at
# least this (rapidfuzz's ratio, 0-100). One changed letter in a name of six letters or fewer
# scores 83 or less, so Maria/Marta (twins share a birth date and a last name) stays apart.
MIN_RATIO = 85
# A single slip (a letter missing, extra or swapped with its neighbour) counts as a typo only
# in names at least this long: "Jon"/"John" yes, "Al"/"Ali" no.
MIN_TYPO_LENGTH = {"first": 3, "last": 4}
# Parts of a last name that say nothing on their own: "de la Cruz" is "Cruz".
PARTICLES = frozenset({"de", "del", "la", "las", "los", "y", "da", "dos", "van", "von", "der"})
# Names that differ only by one of these at the end are usually a brother and a sister
# (Daniel/Daniela, Mario/Maria, Francisco/Francisca): not a typo.
GENDERED_ENDINGS = "aeo"

# Our own table: a formal name and the names its bearers go by, in the US and in Spanish.
# A nickname may belong to several formal names (Bert: Albert, Herbert, Robert); two names
# are close when they share one. Spelling variants of one name sit in the same entry. Two
# names that are both in the table and share no entry are different names, whatever their
# spelling.
NICKNAMES = {
    "abigail": ("abby", "abbie", "gail"),
    "albert": ("al", "bert", "bertie"),
    "alexander": ("alex", "al", "sandy", "xander"),
    "alexandra": ("alex", "sandra", "sandy", "lexi"),
    "alfred": ("al", "alfie", "fred"),
    "andrew": ("andy", "drew"),
    "ann": ("anne", "annie", "nan", "nancy"),
    "anthony": ("tony", "antony"),
    "barbara": ("barb", "barbie", "babs"),
    "benjamin": ("ben", "benny", "benji"),
    "catherine": ("katherine", "kathryn", "kathy", "cathy", "kate", "katie", "kay", "kitty"),
    "charles": ("charlie", "chuck", "chas", "chaz"),
    "christine": ("chris", "chrissy", "tina", "kristine", "christina"),
    "christian": ("chris", "christy"),
    "christopher": ("chris", "kris", "topher", "kristopher"),
    "daniel": ("dan", "danny"),
    "david": ("dave", "davey"),
    "deborah": ("debbie", "debra", "deb"),
    "donald": ("don", "donnie"),
    "dorothy": ("dot", "dottie", "dolly"),
    "edward": ("ed", "eddie", "ted", "teddy", "ned"),
    "elizabeth": ("liz", "lizzie", "beth", "betty", "betsy", "eliza", "libby", "elisabeth"),
    "eugene": ("gene",),
    "frances": ("fran", "frannie"),
    "frederick": ("fred", "freddie", "fritz"),
    "frederica": ("freda", "freddie"),
    "gerald": ("gerry", "jerry"),
    "gregory": ("greg",),
    "harold": ("hal", "harry"),
    "henry": ("hank", "harry", "hal"),
    "herbert": ("herb", "bert"),
    "jacob": ("jake",),
    "james": ("jim", "jimmy", "jamie"),
    "jennifer": ("jen", "jenny", "jenn"),
    "john": ("jack", "johnny", "jon"),
    "jonathan": ("jon", "jonny", "johnathan"),
    "joseph": ("joe", "joey"),
    "joshua": ("josh",),
    "kathleen": ("kathy", "kath", "katie"),
    "kenneth": ("ken", "kenny"),
    "lawrence": ("larry", "laurence"),
    "leonard": ("leo", "len", "lenny"),
    "margaret": ("peggy", "maggie", "meg", "marge", "margie", "greta", "madge"),
    "mary": ("molly", "polly", "mae", "mamie"),
    "matthew": ("matt", "matty"),
    "michael": ("mike", "mikey", "mick", "mickey"),
    "nicholas": ("nick", "nicky", "nico"),
    "patricia": ("pat", "patty", "patsy", "trish", "tricia"),
    "patrick": ("pat", "paddy", "rick"),
    "peter": ("pete",),
    "philip": ("phil", "phillip"),
    "raymond": ("ray",),
    "rebecca": ("becky", "becca"),
    "richard": ("rick", "ricky", "dick", "rich", "richie"),
    "robert": ("bob", "bobby", "rob", "robbie", "bert"),
    "ronald": ("ron", "ronnie"),
    "samuel": ("sam", "sammy"),
    "sarah": ("sara", "sally", "sadie"),
    "stephen": ("steve", "steven", "stevie"),
    "susan": ("sue", "susie", "suzanne"),
    "theodore": ("ted", "teddy", "theo"),
    "thomas": ("tom", "tommy"),
    "timothy": ("tim", "timmy"),
    "victoria": ("vicky", "vickie", "tori"),
    "walter": ("walt", "wally"),
    "william": ("bill", "billy", "will", "willy", "liam"),
    # Spanish.
    "jose": ("pepe", "chepe", "joselito"),
    "francisco": ("paco", "pancho", "curro", "frank"),
    "francisca": ("paca", "pancha", "paquita"),
    "guadalupe": ("lupe", "lupita"),
    "jesus": ("chuy", "chucho"),
    "ignacio": ("nacho",),
    "dolores": ("lola", "lolita"),
    "concepcion": ("concha", "conchita", "chona"),
    "consuelo": ("chelo",),
    "enrique": ("quique", "kike"),
    "eduardo": ("lalo",),
    "gonzalo": ("chalo",),
    "manuel": ("manolo", "manny"),
    "alejandro": ("alex", "alejo", "jando"),
    "antonio": ("tono", "tony"),
    "luis": ("lucho",),
    "mercedes": ("meche", "merche"),
    "rosario": ("chayo", "charo"),
    "rafael": ("rafa", "rafi"),
    "roberto": ("beto", "tito"),
    "alberto": ("beto",),
    "guillermo": ("memo",),
    "isabel": ("chabela", "isa", "bela"),
    "graciela": ("chela",),
    "soledad": ("sole", "chole"),
    "refugio": ("cuca", "cuco"),
}


def _formal_names():
    formal = {}
    for name, others in NICKNAMES.items():
        for each in (name, *others):
            formal.setdefault(each, {each}).add(name)
    return formal


_FORMAL = _formal_names()


def normalise(name):
    """Lower case without accents, hyphens or punctuation: "García-López" is "garcia lopez",
    "O'Brien" is "obrien"."""
    letters = unicodedata.normalize("NFKD", name.casefold())
    letters = "".join(char for char in letters if not unicodedata.combining(char))
    letters = letters.translate(str.maketrans({"'": "", "’": "", ".": " ", "-": " ", ",": " "}))
    return " ".join(letters.split())


def names_close(first_a, last_a, first_b, last_b):
    """Whether two people's names may be one person's: each part close, or swapped (faxes
    and forms sometimes put the last name first)."""
    first_a, last_a, first_b, last_b = map(normalise, (first_a, last_a, first_b, last_b))
    return (_close(last_a, last_b, "last") and _close(first_a, first_b, "first")) or (
        _close(last_a, first_b, "last") and _close(first_a, last_b, "first")
    )


def _close(one, other, kind):
    """Two normalised names: the same once spaces go, or every part of the one with fewer
    parts close to a part of the other ("Garcia" in "Garcia Lopez", "Mary" in "Mary Ann")."""
    if not one or not other:
        return False
    if _words_close(one.replace(" ", ""), other.replace(" ", ""), kind):
        return True
    parts_one, parts_other = _parts(one, kind), _parts(other, kind)
    fewer, more = sorted((parts_one, parts_other), key=len)
    return all(any(_words_close(part, each, kind) for each in more) for part in fewer)


def _parts(name, kind):
    parts = name.split()
    if kind == "last":
        parts = [part for part in parts if part not in PARTICLES] or parts
    return parts


def _words_close(one, other, kind):
    if one == other:
        return True
    if kind == "first":
        formal_one, formal_other = _FORMAL.get(one), _FORMAL.get(other)
        if formal_one and formal_other:
            # Both in the table: one name only if they share an entry, never by spelling
            # (Alexander/Alexandra, Patrick/Patricia, John/Jonathan are different people).
            return bool(formal_one & formal_other)
        if one.rstrip(GENDERED_ENDINGS) == other.rstrip(GENDERED_ENDINGS):
            return False
    if min(len(one), len(other)) >= MIN_TYPO_LENGTH[kind] and OSA.distance(one, other) == 1:
        # Last names take any one slip; a first name not a changed letter (Maria/Marta),
        # only a missing, extra or swapped one (Jon/John, Jonh/John).
        changed_letter = len(one) == len(other) and Levenshtein.distance(one, other) == 1
        if kind == "last" or not changed_letter:
            return True
    return fuzz.ratio(one, other) >= MIN_RATIO


def same_phone(one, other):
    return bool(one.phone) and bool(other.phone) and str(one.phone) == str(other.phone)


def match_reason(appointment, earlier):
    """Why `earlier` may be the same patient as `appointment` (born the same day), or None."""
    by_name = names_close(
        appointment.first_name, appointment.last_name, earlier.first_name, earlier.last_name
    )
    by_phone = same_phone(appointment, earlier)
    if by_name and by_phone:
        return PossibleMatch.Reason.NAME_AND_PHONE
    if by_name:
        return PossibleMatch.Reason.NAME
    if by_phone:
        return PossibleMatch.Reason.PHONE
    return None


def find_possible_matches(appointment):
    """Earlier requests born the same day, open or from the last MATCH_WINDOW, that match by
    a close name, the same phone or both: a list of (earlier request, reason)."""
    if appointment.date_of_birth is None:
        return []  # a fax not yet read
    received = appointment.created_at or timezone.now()
    before = Q(created_at__lt=received)
    if appointment.pk is not None:  # received in the same instant: the lower key came first
        before |= Q(created_at=received, pk__lt=appointment.pk)
    candidates = (
        AppointmentRequest.objects.filter(before, date_of_birth=appointment.date_of_birth)
        .filter(
            Q(status__in=AppointmentRequest.OPEN_STATUSES)
            | Q(created_at__gte=received - MATCH_WINDOW)
        )
        .order_by("created_at", "pk")
    )
    found = []
    for earlier in candidates:
        if reason := match_reason(appointment, earlier):
            found.append((earlier, reason))
    return found


def record_possible_matches(appointment):
    """Save a PossibleMatch for each earlier request found; safe to run again (a pair is
    recorded once). Returns the matches recorded by this call."""
    known = set(
        PossibleMatch.objects.filter(request=appointment).values_list("earlier_id", flat=True)
    )
    new = [
        PossibleMatch(request=appointment, earlier=earlier, reason=reason)
        for earlier, reason in find_possible_matches(appointment)
        if earlier.pk not in known
    ]
    # ignore_conflicts: a second run in parallel finds the same pairs; the constraint keeps one.
    PossibleMatch.objects.bulk_create(new, ignore_conflicts=True)
    return new


def first_copy_of(copy):
    """The request a second copy of a web form folds into, or None: an open request from the
    same source for the same patient (born the same day, a close name), sent within the last
    CLINIC_RESEND_MINUTES. The same phone alone is not enough: a parent sending forms for
    twins gives one phone and one birth date for two patients."""
    since = timezone.now() - datetime.timedelta(minutes=settings.CLINIC_RESEND_MINUTES)
    recent = (
        AppointmentRequest.objects.open()
        .filter(source=copy.source, date_of_birth=copy.date_of_birth, created_at__gte=since)
        .order_by("created_at", "pk")
    )
    for earlier in recent:
        if names_close(copy.first_name, copy.last_name, earlier.first_name, earlier.last_name):
            return earlier
    return None
