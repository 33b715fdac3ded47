"""Who the client is behind our proxies: the address our nearest trusted proxy saw, never an
entry the client wrote itself into X-Forwarded-For (issue 20).

Each proxy appends the address it received the request from, so a client can write anything
to the left of what our proxies add, and only the entries they add can be trusted: with
CLINIC_TRUSTED_PROXY_HOPS proxies, the client is that many entries from the right.
"""

import hashlib
import itertools
import re
import time

import pytest
import time_machine

from appointments.forms import new_form_token
from appointments.models import AccessLog, RecentSubmission
from tests.appointments.factories import RequestFactory

REFER = "/appointments/refer/"
PROXY = "10.0.0.2"  # REMOTE_ADDR: our TLS proxy, in front of the site
CLIENT = "203.0.113.7"
OTHER_CLIENT = "198.51.100.9"
_born = itertools.count(1)


def refer(client, physician_data, forwarded_for):
    """A new referral (for another patient, with a form shown a minute ago) as it reaches the
    site through the proxy: from the proxy, with X-Forwarded-For as the proxy passes it on."""
    with time_machine.travel(time.time() - 60):
        token = new_form_token()
    data = {**physician_data, "token": token, "date_of_birth": f"1955-09-{next(_born):02d}"}
    return client.post(REFER, data, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)


@pytest.fixture
def one_referral_an_hour(settings):
    settings.CLINIC_REFERRALS_PER_HOUR = 1


def test_behind_one_proxy_the_rightmost_entry_is_the_client(
    client, physician_data, settings, one_referral_an_hour
):
    settings.CLINIC_TRUSTED_PROXY_HOPS = 1
    assert refer(client, physician_data, f"192.0.2.1, {CLIENT}").status_code == 302
    # The same client writing another address first is still the same client...
    assert refer(client, physician_data, f"192.0.2.99, {CLIENT}").status_code == 429
    assert refer(client, physician_data, CLIENT).status_code == 429
    # ...and another client writing the first one's address first is not that client.
    assert refer(client, physician_data, f"{CLIENT}, {OTHER_CLIENT}").status_code == 302


def test_behind_two_proxies_the_client_is_the_second_entry_from_the_right(
    client, physician_data, settings, one_referral_an_hour
):
    """A CDN in front of our proxy: the CDN appends the client, our proxy appends the CDN's
    edge, which differs from request to request."""
    settings.CLINIC_TRUSTED_PROXY_HOPS = 2
    assert refer(client, physician_data, f"192.0.2.1, {CLIENT}, 172.16.0.1").status_code == 302
    assert refer(client, physician_data, f"{CLIENT}, 172.16.0.2").status_code == 429
    assert refer(client, physician_data, f"{CLIENT}, {OTHER_CLIENT}, 172.16.0.1").status_code == (
        302
    )


def test_the_access_log_records_the_client_not_an_address_it_wrote(intake_client, settings):
    settings.CLINIC_TRUSTED_PROXY_HOPS = 1
    appointment = RequestFactory()
    response = intake_client.get(
        f"/admin/appointments/appointmentrequest/{appointment.pk}/change/",
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=f"{OTHER_CLIENT}, {CLIENT}",
    )
    assert response.status_code == 200
    assert AccessLog.objects.get(action="view").client_address == CLIENT


def viewer_address(intake_client, forwarded_for):
    """The address the access log records for staff opening a request through the proxy."""
    appointment = RequestFactory()
    headers = {} if forwarded_for is None else {"HTTP_X_FORWARDED_FOR": forwarded_for}
    url = f"/admin/appointments/appointmentrequest/{appointment.pk}/change/"
    assert intake_client.get(url, REMOTE_ADDR=PROXY, **headers).status_code == 200
    return AccessLog.objects.filter(action="view").latest("pk").client_address


@pytest.mark.parametrize(
    ("hops", "forwarded_for", "seen"),
    [
        # No trusted proxy: the header is the client's own writing, and ignored.
        (0, f"{CLIENT}", PROXY),
        # Fewer entries than trusted proxies: the request did not come through them all.
        (2, f"{CLIENT}", PROXY),
        (1, None, PROXY),
        (1, "", PROXY),
        # Empty entries and spaces are not addresses.
        (1, f"{OTHER_CLIENT},{CLIENT}, ", CLIENT),
        (2, f" {OTHER_CLIENT} ,, {CLIENT}", OTHER_CLIENT),
        (2, f"{OTHER_CLIENT}, ,{CLIENT}", OTHER_CLIENT),
    ],
)
def test_the_client_is_read_only_from_the_entries_our_proxies_added(
    intake_client, settings, hops, forwarded_for, seen
):
    settings.CLINIC_TRUSTED_PROXY_HOPS = hops
    assert viewer_address(intake_client, forwarded_for) == seen


def test_a_client_is_counted_with_a_secret_key_of_any_length(
    client, physician_data, settings, one_referral_an_hour
):
    """The address is hashed with the site's key (blake2b takes at most 64 bytes of it): a
    long key still counts one client as one."""
    settings.SECRET_KEY = "k" * 100
    settings.CLINIC_TRUSTED_PROXY_HOPS = 1
    assert refer(client, physician_data, CLIENT).status_code == 302
    assert refer(client, physician_data, CLIENT).status_code == 429


def test_what_is_kept_of_a_client_is_a_hash_keyed_with_the_sites_secret(
    client, physician_data, settings
):
    """The hourly limit keeps a hash of the client's address, not the address. Without the
    site's key anyone could hash every IPv4 address and read the client back."""
    settings.CLINIC_TRUSTED_PROXY_HOPS = 1
    assert refer(client, physician_data, CLIENT).status_code == 302

    kept = RecentSubmission.objects.get().client_hash
    assert re.fullmatch("[0-9a-f]{32}", kept)
    assert CLIENT not in kept
    assert kept != hashlib.blake2b(CLIENT.encode(), digest_size=16).hexdigest()
