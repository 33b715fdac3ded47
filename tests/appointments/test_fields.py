"""A request's field groups are declared once (appointments/fields.py): the referral form,
the front desk's entry screen, the request's admin page and the CSV export show them in its
groups and its order."""

import csv
import io
import re
from html.parser import HTMLParser

from appointments.fields import RECEIVED, REFERRER, REQUEST_GROUPS, field_names
from tests.appointments.conftest import CHANGELIST, change_url
from tests.appointments.factories import ReferralFactory


class Fieldsets(HTMLParser):
    """The page's outermost fieldsets: each one's heading (legend or h2) and the request fields
    it shows, in page order, named by their inputs or by the admin's "field-<name>" class."""

    def __init__(self, html):
        super().__init__()
        self.found, self.depth, self.heading = [], 0, None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "fieldset":
            self.depth += 1
            if self.depth == 1:
                self.found.append(["", []])
        if not self.depth:
            return
        if tag in ("legend", "h2") and self.depth == 1 and not self.found[-1][0]:
            self.heading = tag
        names = [attrs.get("name") or ""]
        names += re.findall(r"\bfield-(\w+)", attrs.get("class") or "")
        for name in names:
            if name in field_names() and name not in self.found[-1][1]:
                self.found[-1][1].append(name)

    def handle_endtag(self, tag):
        if tag == self.heading:
            self.heading = None
        if tag == "fieldset":
            self.depth -= 1

    def handle_data(self, data):
        if self.heading:
            self.found[-1][0] += data.strip()

    def groups(self):
        """(heading, fields) of the fieldsets that show request fields."""
        return [(heading, names) for heading, names in self.found if names]


def declared(shown, public=False):
    """What the declaration says a page showing the fields `shown` holds: each group's title
    and its fields among them, in order."""
    groups = []
    for group in REQUEST_GROUPS:
        names = [name for name in group.names if name in shown]
        if names:
            groups.append((str(group.public_title) if public else group.title, names))
    return groups


def shown_fields(groups):
    return {name for _heading, names in groups for name in names}


def test_the_referral_form_shows_the_declared_groups_in_order(client, demo):
    shown = Fieldsets(client.get("/appointments/refer/").text).groups()
    assert [title for title, _names in shown] == ["Referring provider", "Patient", "Referral"]
    assert shown == declared(shown_fields(shown), public=True)
    assert shown_fields(shown) >= {"referrer_npi", "date_of_birth", "urgency", "icd10_codes"}


def test_the_entry_screen_shows_the_declared_groups_in_order(intake_client, demo):
    shown = Fieldsets(intake_client.get(f"{CHANGELIST}add/").text).groups()
    assert [title for title, _names in shown] == [
        "Received",
        "Referring physician",
        "Patient",
        "Request",
    ]
    assert shown == declared(shown_fields(shown))
    # Everything a sender can tell us, and how it came.
    assert shown_fields(shown) >= {"source", "referrer_fax", "language", "preferred_time"}


def rows(html):
    """The admin form's rows in page order, each as the names of the fields side by side in it."""
    return [
        re.findall(r"\bfield-(\w+)", row)
        for row in re.findall(r'<div class="form-row[^"]*">', html)
    ]


def test_the_entry_screen_puts_the_declared_pairs_side_by_side(intake_client, demo):
    shown = rows(intake_client.get(f"{CHANGELIST}add/").text)
    assert shown[: shown.index(["preferred_location"]) + 1] == [
        ["source"],  # the one received field staff enter: the other rows are left out
        ["referrer_name"],
        ["referrer_npi", "referrer_practice"],
        ["referrer_phone", "referrer_fax"],
        ["referrer_email"],
        ["first_name", "last_name"],
        ["date_of_birth", "phone"],
        ["email"],
        ["preferred_contact", "preferred_time"],
        ["insurance_carrier", "language"],
        ["reason"],
        ["condition", "icd10_codes"],
        ["urgency"],
        ["prior_treatments"],
        ["prior_spine_surgery", "spine_surgery_when"],
        ["preferred_location"],
    ]


def test_a_row_keeps_only_the_fields_asked_and_a_row_left_with_one_is_that_field_alone():
    asked = ["referrer_email", "referrer_fax", "referrer_phone", "referrer_npi", "referrer_name"]
    assert REFERRER.rows_of(asked) == [
        "referrer_name",
        "referrer_npi",  # its row's other field, the practice, is not asked
        ("referrer_phone", "referrer_fax"),  # in the group's order, not the order asked
        "referrer_email",
    ]


def test_rows_whose_fields_are_all_left_out_disappear():
    assert RECEIVED.rows_of(["source", "status"]) == ["source"]
    assert REFERRER.rows_of(["referrer_fax"]) == ["referrer_fax"]
    assert REFERRER.rows_of(["first_name"]) == []


def test_the_request_page_shows_every_declared_field_in_its_group(intake_client, demo):
    referral = ReferralFactory()
    html = intake_client.get(change_url(referral)).text
    # The fieldsets before the inlines (files, notes, history).
    shown = Fieldsets(html.split('class="js-inline-admin-formset')[0]).groups()
    assert shown == declared(field_names())


def test_the_export_has_a_column_for_every_declared_field_in_order(practice_admin_client, demo):
    referral = ReferralFactory(referrer_name="Dr. Ines Okafor")
    response = practice_admin_client.post(
        CHANGELIST, {"action": "export_csv", "_selected_action": [referral.pk]}
    )
    header, row = list(csv.reader(io.StringIO(response.content.decode())))
    assert header[: len(field_names())] == field_names()
    assert header[len(field_names()) :] == [
        "status",
        "assigned_to",
        "first_response_due",
        "first_responded_at",
    ]
    assert row[header.index("referrer_name")] == "Dr. Ines Okafor"
    assert row[header.index("reference")] == referral.reference
