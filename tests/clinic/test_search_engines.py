"""What search engines read: the practice's structured data, and which pages stay out."""

from django.contrib.staticfiles import finders

from tests.clinic.test_pages import json_ld


def test_home_page_describes_the_practice_with_its_logo_and_locations(client, demo):
    data = json_ld(client.get("/").text)
    (practice,) = [item for item in data if item["@type"] == "MedicalOrganization"]
    assert practice["name"] == "Bluestem Spine & Pain Center"
    assert practice["url"] == "http://testserver/"
    assert practice["logo"] == "http://testserver/static/img/logo.png"
    assert finders.find("img/logo.png")
    assert practice["telephone"] == "+12175550100"
    departments = {item["name"]: item for item in practice["department"]}
    assert set(departments) == {
        "Bluestem Spine & Pain Center – Main Clinic",
        "Bluestem Spine & Pain Center – Eastside Clinic",
    }
    main = departments["Bluestem Spine & Pain Center – Main Clinic"]
    assert main["@type"] == "MedicalClinic"
    assert "@context" not in main
    assert main["url"] == "http://testserver/locations/main-clinic/"
    assert main["address"]["postalCode"] == "62704"
    assert main["telephone"] == "+12175550100"
    assert main["openingHoursSpecification"]
