import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command


@pytest.fixture
def editor(db):
    user = User.objects.create_user("editor", password="a long editor password", is_staff=True)
    user.groups.add(Group.objects.get(name="Content editor"))
    return user


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


CONTENT = Path(__file__).resolve().parents[2] / "conditions" / "content"


@pytest.fixture
def content(tmp_path):
    """A copy of the content folder that a test may change."""
    folder = tmp_path / "content"
    shutil.copytree(CONTENT, folder)
    return folder


def run(folder, *args):
    """import_content on a content folder; what it printed."""
    out = StringIO()
    call_command("import_content", "--dir", str(folder), *args, stdout=out)
    return out.getvalue()


def rewrite(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
