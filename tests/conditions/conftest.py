from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command


@pytest.fixture
def pages(demo):
    """The practice plus every condition and treatment page, as `make run` loads them."""
    call_command("import_content", stdout=StringIO())


@pytest.fixture
def editor(db):
    user = User.objects.create_user("editor", password="a long editor password", is_staff=True)
    user.groups.add(Group.objects.get(name="Content editor"))
    return user


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client
