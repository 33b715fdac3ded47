"""No interface string without its Spanish translation: `manage.py messages --check` collects
the strings as `make messages` does and fails on any empty or fuzzy translation."""

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.content  # a check of what the clinic wrote (`-m content`)

HEADER = """msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"Language: es\\n"
"""


def test_every_interface_string_has_a_spanish_translation(settings, monkeypatch, capsys):
    """Fails until every string in the code and templates is translated in the catalogues."""
    monkeypatch.chdir(settings.BASE_DIR)
    call_command("messages", "--check")
    assert "Every interface string has a translation." in capsys.readouterr().out


@pytest.fixture
def shop(tmp_path, settings, monkeypatch):
    """A tiny project: one app with a template, a Python string and a Spanish catalogue."""
    app = tmp_path / "shop"
    (app / "templates").mkdir(parents=True)
    (app / "locale" / "es" / "LC_MESSAGES").mkdir(parents=True)
    (app / "templates" / "page.html").write_text(
        '{% load i18n %}<h1>{% translate "Opening hours" %}</h1>\n'
        "{% blocktranslate trimmed with phone=phone %}Call {{ phone }}.{% endblocktranslate %}\n"
    )
    (app / "labels.py").write_text(
        'from django.utils.translation import gettext_lazy as _\n\nLABEL = _("Date of birth")\n'
    )
    settings.LOCALE_PATHS = []
    monkeypatch.chdir(tmp_path)
    return app / "locale" / "es" / "LC_MESSAGES" / "django.po"


def catalogue(*entries):
    return HEADER + "".join(f'\nmsgid "{msgid}"\nmsgstr "{msgstr}"\n' for msgid, msgstr in entries)


TRANSLATED = [
    ("Opening hours", "Horario"),
    ("Call %(phone)s.", "Llame al %(phone)s."),
    ("Date of birth", "Fecha de nacimiento"),
]


def test_check_passes_when_every_string_is_translated(shop, capsys):
    shop.write_text(catalogue(*TRANSLATED))
    call_command("messages", "--check")
    assert "Every interface string has a translation." in capsys.readouterr().out


def test_check_names_each_empty_translation_and_its_catalogue(shop, capsys):
    shop.write_text(catalogue(TRANSLATED[0], ("Call %(phone)s.", "")))
    before = shop.read_text()
    with pytest.raises(CommandError, match="2 interface strings have no translation"):
        call_command("messages", "--check")
    out = capsys.readouterr().out
    assert "shop/locale/es/LC_MESSAGES/django.po: 2 without a translation" in out
    assert "'Call %(phone)s.'" in out
    assert "'Date of birth'" in out  # in the code, not yet in the catalogue
    assert "Opening hours" not in out
    assert shop.read_text() == before  # the check changes no catalogue


def test_check_counts_a_fuzzy_translation_as_missing(shop, capsys):
    shop.write_text(
        catalogue(*TRANSLATED).replace(
            'msgid "Opening hours"', '#, fuzzy\n#| msgid "Opening time"\nmsgid "Opening hours"'
        )
    )
    with pytest.raises(CommandError, match="1 interface strings"):
        call_command("messages", "--check")
    assert "'Opening hours' (fuzzy)" in capsys.readouterr().out


def test_check_reports_an_app_without_a_catalogue(shop, capsys):
    """A string in an app whose catalogue does not exist yet is untranslated too."""
    assert not shop.exists()
    with pytest.raises(CommandError, match="3 interface strings"):
        call_command("messages", "--check")
    assert "shop/locale/es/LC_MESSAGES/django.po: 3 without" in capsys.readouterr().out
    assert not shop.exists()


def test_messages_collects_new_strings_into_the_apps_catalogue(shop):
    """What `make messages` runs: the new string lands in the app's catalogue, empty."""
    shop.write_text(catalogue(TRANSLATED[0]))
    call_command("messages", verbosity=0)
    text = shop.read_text()
    assert 'msgid "Date of birth"\nmsgstr ""' in text
    assert 'msgid "Opening hours"\nmsgstr "Horario"' in text


def test_makefile_collects_with_the_same_command():
    makefile = (Path(__file__).parents[2] / "Makefile").read_text()
    assert "$(MANAGE) messages\n" in makefile
    assert "makemessages" not in makefile  # its options are written in the command only
