"""Our doctors: their pages, their portraits, and the links to them from treatments and
locations."""

import io
import json
import re

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import ExifTags, Image

from clinic import portraits
from clinic.models import Location, Provider
from clinic.pagecache import forget_local
from tests.admin_forms import admin_form_data
from tests.appointments.conftest import staff_member
from tests.clinic.factories import ProviderFactory
from tests.conditions.factories import CategoryFactory, TreatmentFactory
from tests.conftest import log_in_with_second_factor

ADD_URL = "/admin/clinic/provider/add/"


def json_ld(html):
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    return [json.loads(block) for block in blocks]


def image_file(fmt="JPEG", size=(480, 600), mode="RGB", color=(180, 120, 90), name=None, **save):
    image = Image.new(mode, size, color)
    encoded = io.BytesIO()
    image.save(encoded, fmt, **save)
    extension = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}[fmt]
    return SimpleUploadedFile(name or f"portrait.{extension}", encoded.getvalue())


def phone_photo():
    """A JPEG as a phone writes it: where it was taken and with what."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Examplephone"
    exif[ExifTags.Base.Model] = "X1000 Pro"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (39.0, 47.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (89.0, 39.0, 1.25)
    photo = image_file(exif=exif, name="IMG_2041.jpg")
    assert Image.open(io.BytesIO(photo.read())).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    photo.seek(0)
    return photo


def public_files():
    """Every portrait file in the public storage."""
    storage = storages["public"]
    if not storage.exists(portraits.FOLDER):
        return set()
    return set(storage.listdir(portraits.FOLDER)[1])


def provider_form(**overrides):
    data = {
        "name": "Maya Okafor",
        "slug": "maya-okafor",
        "credentials": "MD",
        "specialty_en": "Interventional pain medicine",
        "specialty_es": "Medicina intervencionista del dolor",
        "bio_en": "She trained in anesthesiology.\n\nShe treats back pain.",
        "bio_es": "Se formó en anestesiología.\n\nTrata el dolor de espalda.",
        "board_certifications_en": "American Board of Anesthesiology — Pain Medicine",
        "board_certifications_es": "",
        "languages": ["en", "es"],
        "position": "0",
        "published": "on",
    }
    return {**data, **overrides}


@pytest.fixture
def editor_client(client, db):
    # Password only: content editors have no second factor.
    client.force_login(staff_member("editor", "Content editor"))
    return client


@pytest.fixture
def doctor(demo):
    return ProviderFactory(
        name="Maya Okafor",
        slug="maya-okafor",
        bio="She trained in anesthesiology.\n\nShe treats back <b>pain</b>.",
        bio_es="Se formó en anestesiología.\n\nTrata el dolor de espalda.",
        specialty_es="Medicina intervencionista del dolor",
        board_certifications="American Board of Anesthesiology — Anesthesiology\n\n"
        "American Board of Anesthesiology — Pain Medicine\n",
        languages="en es ar",
        locations=Location.objects.all(),
    )


# The model.


def test_only_published_doctors_are_public(demo):
    shown = ProviderFactory(position=2)
    first = ProviderFactory(position=1)
    ProviderFactory(published=False)
    assert list(Provider.objects.published()) == [first, shown]


def test_a_doctor_is_named_with_credentials_and_has_initials(demo):
    doctor = ProviderFactory(name="Samuel J. Kowalski", credentials="MD, MPH")
    assert str(doctor) == doctor.full_name == "Samuel J. Kowalski, MD, MPH"
    assert doctor.initials == "SK"
    assert doctor.get_absolute_url() == f"/doctors/{doctor.slug}/"


# Portraits uploaded in the admin.


def test_content_editor_adds_a_doctor_with_a_portrait(editor_client, demo):
    # Portraits are named by their content: one left by an earlier run in this process (as
    # make mutate's forks run) would not be written again.
    for name in public_files():
        storages["public"].delete(f"{portraits.FOLDER}/{name}")
    before = public_files()
    main = Location.objects.get(slug="main-clinic")
    data = provider_form(portrait_upload=phone_photo(), locations=[main.pk])
    response = editor_client.post(ADD_URL, data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    doctor = Provider.objects.get(slug="maya-okafor")
    assert doctor.language_codes == ["en", "es"]
    assert list(doctor.locations.all()) == [main]
    assert doctor.specialty_es == "Medicina intervencionista del dolor"
    assert doctor.history.get().history_user.username == "editor"
    written = public_files() - before
    stem = doctor.portrait.removeprefix(f"{portraits.FOLDER}/")
    assert written == {
        f"{stem}-{width}.{extension}" for width in (160, 320, 640) for extension in portraits_ext()
    }
    # Nothing of the upload itself is kept, in any storage.
    assert not any("IMG_2041" in name for name in public_files())
    for name in written:
        response = editor_client.get(f"/media/{portraits.FOLDER}/{name}")
        assert response.status_code == 200
        content = b"".join(response.streaming_content)
        width = int(name.split("-")[1].split(".")[0])
        rendition = Image.open(io.BytesIO(content))
        expected = {"avif": "AVIF", "webp": "WEBP", "jpg": "JPEG"}[name.rsplit(".", 1)[1]]
        assert (rendition.format, rendition.size) == (expected, (width, width))
        assert response["Content-Type"] == Image.MIME[expected]
        assert response["Cache-Control"] == "public, max-age=31536000, immutable"
        # No location, no camera: the renditions are new images of the pixels alone.
        assert not rendition.getexif()
        assert b"Examplephone" not in content and b"X1000" not in content


def portraits_ext():
    return [extension for extension, *_rest in portraits.FORMATS]


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            lambda: SimpleUploadedFile("portrait.jpg", b"Dear colleague, please find attached..."),
            "This file is not a JPEG, PNG or WebP image.",
        ),
        (lambda: image_file("GIF"), "This file is not a JPEG, PNG or WebP image."),
        (
            lambda: image_file("PNG", size=(8000, 5001), mode="L", color=128),
            "This image is 8000 × 5001 pixels, more than 40 million in all.",
        ),
        (
            # Pillow itself refuses to open it (a decompression bomb).
            lambda: image_file("PNG", size=(20000, 10000), mode="1", color=0),
            "This image has far more than 40 million pixels.",
        ),
        (
            lambda: image_file(size=(300, 400)),
            "This image is 300 × 400 pixels: too small to look sharp.",
        ),
        (
            lambda: SimpleUploadedFile("portrait.jpg", image_file().read()[:-2000]),
            "This image could not be read; the file may be damaged.",
        ),
    ],
    ids=["text-renamed-jpg", "gif", "too-many-pixels", "bomb", "too-small", "truncated"],
)
def test_a_bad_portrait_is_refused_with_a_message_and_nothing_is_written(
    editor_client, demo, upload, message
):
    before = public_files()
    response = editor_client.post(ADD_URL, provider_form(portrait_upload=upload()))
    assert response.status_code == 200
    assert message in response.text
    assert not Provider.objects.exists()
    assert public_files() == before


def test_a_portrait_over_10_mb_is_refused_with_a_message(editor_client, demo):
    before = public_files()
    big = SimpleUploadedFile("huge.jpg", b"\xff\xd8\xff\xe0" + b"\0" * (10 * 1024 * 1024))
    response = editor_client.post(ADD_URL, provider_form(portrait_upload=big))
    assert response.status_code == 200
    assert "This file is larger than 10 MB." in response.text
    assert not Provider.objects.exists()
    assert public_files() == before


def test_transparency_becomes_white_and_the_crop_is_square(editor_client, demo):
    upload = image_file("PNG", size=(400, 800), mode="RGBA", color=(0, 0, 0, 0))
    assert editor_client.post(ADD_URL, provider_form(portrait_upload=upload)).status_code == 302
    doctor = Provider.objects.get()
    with storages["public"].open(f"{doctor.portrait}-320.jpg") as rendition:
        image = Image.open(rendition)
        assert image.size == (320, 320)
        assert all(channel > 245 for channel in image.getpixel((10, 10)))


def test_a_replaced_portrait_is_taken_off_the_public_storage(
    editor_client, demo, django_capture_on_commit_callbacks
):
    editor_client.post(ADD_URL, provider_form(portrait_upload=image_file(color=(10, 90, 200))))
    doctor = Provider.objects.get()
    old = portraits.Portrait(doctor.portrait)
    url = f"/admin/clinic/provider/{doctor.pk}/change/"
    data = {
        **admin_form_data(editor_client.get(url)),
        "portrait_upload": image_file(color=(200, 90, 10)),
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert editor_client.post(url, data).status_code == 302
    doctor.refresh_from_db()
    assert doctor.portrait != old.stem
    assert all(storages["public"].exists(name) for name in doctor.picture.names())
    assert not any(storages["public"].exists(name) for name in old.names())

    data = {**admin_form_data(editor_client.get(url)), "remove_portrait": "on"}
    with django_capture_on_commit_callbacks(execute=True):
        assert editor_client.post(url, data).status_code == 302
    doctor.refresh_from_db()
    assert doctor.portrait == ""
    assert 'class="portrait portrait-placeholder portrait-lg" aria-hidden="true">MO</span>' in (
        editor_client.get(doctor.get_absolute_url()).text
    )


def test_intake_staff_cannot_add_doctors(client, demo):
    log_in_with_second_factor(client, staff_member("intake", "Intake"))
    assert client.get(ADD_URL).status_code == 403
    assert client.post(ADD_URL, provider_form(portrait_upload=image_file())).status_code == 403
    assert not Provider.objects.exists()


def test_content_editors_and_practice_admins_keep_the_doctors_pages(db):
    for name in ("Content editor", "Practice admin"):
        codenames = set(Group.objects.get(name=name).permissions.values_list("codename", flat=True))
        assert {"add_provider", "change_provider", "delete_provider", "view_provider"} <= codenames
    intake = set(Group.objects.get(name="Intake").permissions.values_list("codename", flat=True))
    assert not any(codename.endswith("_provider") for codename in intake)


def test_admin_changelist_runs_a_fixed_number_of_queries(editor_client, doctor):
    def changelist_queries():
        with CaptureQueriesContext(connection) as queries:
            assert editor_client.get("/admin/clinic/provider/").status_code == 200
        return len(queries)

    few = changelist_queries()
    ProviderFactory.create_batch(20, locations=Location.objects.all(), portrait="portraits/x")
    assert changelist_queries() == few


def test_admin_links_to_the_public_page_of_a_published_doctor_only(editor_client, doctor):
    page = editor_client.get(f"/admin/clinic/provider/{doctor.pk}/change/").text
    assert "View on site" in page
    hidden = ProviderFactory(published=False)
    page = editor_client.get(f"/admin/clinic/provider/{hidden.pk}/change/").text
    assert "View on site" not in page


# The public pages.


def test_doctors_page_lists_the_published_doctors(client, doctor):
    ProviderFactory(name="Hidden Person", published=False)
    response = client.get("/doctors/")
    assert response.status_code == 200
    html = response.text
    assert "<title>Our doctors | " in html
    assert '<meta name="description" content="The doctors who see you:' in html
    assert 'href="/doctors/maya-okafor/">Maya Okafor, MD</a>' in html
    assert "Interventional pain medicine" in html
    assert "Sees patients at: Main Clinic, Eastside Clinic" in html
    assert "Hidden Person" not in html
    assert 'aria-current="page">Our doctors</li>' in html


def test_home_page_introduces_the_doctors(client, doctor):
    ProviderFactory(name="Hidden Person", published=False)
    html = client.get("/").text
    section = html[html.index('id="our-doctors"') : html.index('id="how-referral-works"')]
    assert 'href="/doctors/maya-okafor/">Maya Okafor, MD</a>' in section
    assert "Interventional pain medicine" in section
    assert 'href="/doctors/">More about our doctors</a>' in section
    assert "Hidden Person" not in html
    spanish = client.get("/es/").text
    assert "Medicina intervencionista del dolor" in spanish
    assert 'href="/es/doctors/">Más sobre nuestros médicos</a>' in spanish


def test_every_page_links_the_doctors_the_first_visit_and_insurance(client, demo):
    navigation = client.get("/privacy/").text.split('<nav class="navbar', 1)[1].split("</nav>")[0]
    for href, name in [
        ("/doctors/", "Our doctors"),
        ("/first-visit/", "Your first visit"),
        ("/insurance/", "Insurance"),
    ]:
        assert f'href="{href}">{name}</a>' in navigation
    assert (
        'href="/first-visit/" aria-current="page">Your first visit</a>'
        in client.get("/first-visit/").text
    )


def test_doctor_page_shows_the_profile(client, doctor):
    rfa = TreatmentFactory(name="Nerve ablation test", slug="nerve-ablation-test")
    draft = TreatmentFactory(name="Draft procedure", status="draft")
    doctor.treatments.set([rfa, draft])
    response = client.get("/doctors/maya-okafor/")
    assert response.status_code == 200
    html = response.text
    assert "<title>Maya Okafor, MD: Interventional pain medicine | " in html
    assert "<h1>Maya Okafor, MD</h1>" in html
    # Plain paragraphs, as written: no markup gets through.
    assert "<p>She trained in anesthesiology.</p>" in html
    assert "She treats back &lt;b&gt;pain&lt;/b&gt;." in html
    assert (
        "<ul><li>American Board of Anesthesiology — Anesthesiology</li>"
        "<li>American Board of Anesthesiology — Pain Medicine</li></ul>"
    ) in html
    # Each language in its own name, marked as such for screen readers.
    assert '<li lang="es" dir="ltr">Español</li>' in html
    assert '<li lang="ar" dir="rtl">العربية</li>' in html
    assert 'href="/locations/main-clinic/">Main Clinic</a>' in html
    assert 'href="/treatments/nerve-ablation-test/">Nerve ablation test</a>' in html
    assert "Draft procedure" not in html
    assert 'href="/doctors/">Our doctors</a>' in html  # breadcrumbs


def test_an_unpublished_or_unknown_doctor_is_not_found(client, demo):
    hidden = ProviderFactory(published=False)
    assert client.get(hidden.get_absolute_url()).status_code == 404
    assert client.get("/doctors/nobody/").status_code == 404


def test_spanish_doctor_page_reads_in_spanish(client, doctor):
    html = client.get("/es/doctors/maya-okafor/").text
    assert '<html lang="es">' in html
    assert "<p>Se formó en anestesiología.</p>" in html
    assert "Medicina intervencionista del dolor" in html
    assert 'href="/es/doctors/">Nuestros médicos</a>' in html
    assert "Certificaciones de especialidad" in html
    assert 'href="/es/locations/main-clinic/"' in html
    listing = client.get("/es/doctors/").text
    assert "<h1>Nuestros médicos</h1>" in listing


def test_a_doctor_without_a_portrait_shows_initials(client, doctor):
    html = client.get("/doctors/").text
    assert '<span class="portrait portrait-placeholder" aria-hidden="true">MO</span>' in html
    assert "<picture" not in html and " style=" not in html


@pytest.fixture
def portrayed(demo):
    """Four doctors with portraits: the first a photo, the rest illustrations."""
    stem = portraits.publish(portraits.check(image_file()))
    return [
        ProviderFactory(position=number, portrait=stem, portrait_is_illustration=number > 0)
        for number in range(4)
    ]


def test_portraits_are_offered_in_avif_webp_and_jpeg(client, portrayed):
    doctor = portrayed[0]
    html = client.get(doctor.get_absolute_url()).text
    picture = re.search(r"<picture.*?</picture>", html, re.S).group(0)
    stem = f"/media/{doctor.portrait}"
    srcset = ", ".join(f"{stem}-{width}.avif {width}w" for width in (160, 320, 640))
    assert f'<source type="image/avif" srcset="{srcset}"' in picture
    assert '<source type="image/webp"' in picture
    assert picture.index("image/avif") < picture.index("image/webp") < picture.index("<img")
    img = re.search(r"<img [^>]*>", picture).group(0)
    assert f'src="{stem}-320.jpg"' in img
    assert f"{stem}-640.jpg 640w" in img
    assert 'width="320" height="320"' in img and 'sizes="' in img
    assert f'alt="Portrait of {doctor.full_name}"' in img
    assert 'decoding="async"' in img
    # The page's main image, above the fold: loaded at once.
    assert "loading=" not in img and 'fetchpriority="high"' in img


def test_portraits_below_the_fold_load_lazily(client, portrayed):
    images = re.findall(r"<img [^>]*>", client.get("/doctors/").text)
    portraits_shown = [img for img in images if "/media/portraits/" in img]
    assert len(portraits_shown) == 4
    assert ['loading="lazy"' in img for img in portraits_shown] == [False, False, True, True]
    assert f'alt="Illustrated portrait of {portrayed[3].full_name}"' in portraits_shown[3]


def test_doctor_page_has_physician_structured_data(client, doctor):
    rfa = TreatmentFactory(name="Radiofrequency ablation", slug="radiofrequency-ablation")
    therapy = TreatmentFactory(
        name="Physical therapy and exercise", category=CategoryFactory(is_procedure=False)
    )
    doctor.treatments.set([rfa, therapy])
    doctor.portrait = portraits.publish(portraits.check(image_file()))
    doctor.save()
    data = json_ld(client.get(doctor.get_absolute_url()).text)
    assert [item["@type"] for item in data] == ["Physician", "BreadcrumbList"]
    physician = data[0]
    assert physician["@context"] == "https://schema.org"
    assert physician["name"] == "Maya Okafor, MD"
    assert physician["url"] == "http://testserver/doctors/maya-okafor/"
    assert physician["medicalSpecialty"] == "Interventional pain medicine"
    assert physician["image"] == f"http://testserver/media/{doctor.portrait}-640.jpg"
    assert physician["knowsLanguage"] == ["en", "es", "ar"]
    assert physician["memberOf"] == {
        "@type": "MedicalOrganization",
        "name": "Bluestem Spine & Pain Center",
        "url": "http://testserver/",
    }
    main, eastside = physician["location"]
    assert main["@type"] == "MedicalClinic"
    assert main["url"] == "http://testserver/locations/main-clinic/"
    assert main["address"]["postalCode"] == "62704"
    assert eastside["address"]["addressLocality"] == "Champaign"
    assert physician["address"] == main["address"]
    assert [credential["name"] for credential in physician["hasCredential"]] == [
        "American Board of Anesthesiology — Anesthesiology",
        "American Board of Anesthesiology — Pain Medicine",
    ]
    services = {service["name"]: service for service in physician["availableService"]}
    assert services["Radiofrequency ablation"]["@type"] == "MedicalProcedure"
    assert services["Radiofrequency ablation"]["url"] == (
        "http://testserver/treatments/radiofrequency-ablation/"
    )
    assert services["Physical therapy and exercise"]["@type"] == "MedicalTherapy"


# Links from the treatment and location pages.


def test_treatment_page_links_to_the_doctors_who_perform_it(client, doctor):
    treatment = TreatmentFactory()
    doctor.treatments.add(treatment)
    ProviderFactory(name="Hidden Person", published=False, treatments=[treatment])
    html = client.get(treatment.get_absolute_url()).text
    assert "Doctors who perform this treatment" in html
    assert 'href="/doctors/maya-okafor/">Maya Okafor, MD</a>, Interventional pain medicine' in html
    assert "Hidden Person" not in html
    spanish = client.get(f"/es{treatment.get_absolute_url()}").text
    assert "Médicos que realizan este tratamiento" in spanish
    assert 'href="/es/doctors/maya-okafor/"' in spanish
    assert "Doctors who perform" not in client.get(TreatmentFactory().get_absolute_url()).text


def test_location_page_lists_its_doctors(client, doctor):
    ProviderFactory(name="Hidden Person", published=False, locations=Location.objects.all())
    elsewhere = ProviderFactory(name="Elsewhere Person", locations=[])
    html = client.get("/locations/eastside/").text
    assert "Doctors at this location" in html
    assert 'href="/doctors/maya-okafor/">Maya Okafor, MD</a>' in html
    assert "Hidden Person" not in html and elsewhere.name not in html
    assert "Médicos en esta oficina" in client.get("/es/locations/eastside/").text


# Speed: the same queries whatever the number of doctors.


def cold_queries(client, url):
    """Queries a page runs on a cold cache (everything it can ever run), the clock still."""
    cache.clear()
    forget_local()
    with (
        time_machine.travel(timezone.now(), tick=False),
        CaptureQueriesContext(connection) as queries,
    ):
        assert client.get(url).status_code == 200
    return len(queries)


def add_doctors(number, treatments):
    return ProviderFactory.create_batch(
        number, locations=Location.objects.all(), treatments=treatments, portrait="portraits/x"
    )


def test_pages_run_the_same_queries_with_2_or_40_doctors(client, demo):
    treatments = TreatmentFactory.create_batch(3)
    first, _ = add_doctors(2, treatments)
    urls = [
        "/",
        "/doctors/",
        first.get_absolute_url(),
        "/es/doctors/",
        treatments[0].get_absolute_url(),
        "/locations/main-clinic/",
    ]
    few = {url: cold_queries(client, url) for url in urls}
    add_doctors(38, [*treatments, *TreatmentFactory.create_batch(10)])
    many = {url: cold_queries(client, url) for url in urls}
    assert many == few
    # Each page's own queries, beyond what any page pays on a cold cache.
    bookkeeping = cold_queries(client, "/providers/")
    own = {url: count - bookkeeping for url, count in few.items()}
    assert own["/"] == 2  # the conditions, the doctors
    assert own["/doctors/"] == 2  # the doctors, their locations
    assert own[first.get_absolute_url()] == 3  # the doctor, locations, treatments
    assert own["/locations/main-clinic/"] == 1  # its doctors: the location is in the chrome


def test_sitemap_lists_the_published_doctors_in_both_languages(client, doctor):
    hidden = ProviderFactory(published=False)
    xml = client.get("/sitemap.xml").text
    assert "<loc>http://testserver/doctors/</loc>" in xml
    assert "<loc>http://testserver/doctors/maya-okafor/</loc>" in xml
    assert 'hreflang="es" href="http://testserver/es/doctors/maya-okafor/"' in xml
    assert hidden.get_absolute_url() not in xml
    entry = xml[xml.index("<loc>http://testserver/doctors/maya-okafor/</loc>") :]
    assert (
        f"<lastmod>{timezone.localtime(doctor.updated_at):%Y-%m-%d}"
        in entry[: entry.index("</url>")]
    )


def test_an_admin_edit_shows_on_the_public_pages_at_once(
    editor_client, doctor, django_capture_on_commit_callbacks
):
    from django.test import Client

    visitor = Client()
    assert "Maya Okafor" in visitor.get("/doctors/").text
    assert visitor.get("/doctors/")["X-Page-Cache"] == "hit"  # cached for visitors now
    url = f"/admin/clinic/provider/{doctor.pk}/change/"
    data = {**admin_form_data(editor_client.get(url)), "specialty_en": "Neurology"}
    with django_capture_on_commit_callbacks(execute=True):
        assert editor_client.post(url, data).status_code == 302
    assert "Neurology" in visitor.get("/doctors/").text
    assert "Neurology" in visitor.get("/locations/main-clinic/").text
