"""/media/: what staff published (portraits, forms to fill in), and nothing else."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages


@pytest.fixture
def published(demo):
    storage = storages["public"]
    name = storage.save("portraits/dr-example-320.webp", ContentFile(b"RIFF....WEBPVP8 "))
    yield name
    storage.delete(name)


def test_a_published_file_is_served_with_its_type_and_kept_for_a_year(client, published):
    response = client.get(f"/media/{published}")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    assert b"".join(response.streaming_content) == b"RIFF....WEBPVP8 "
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "portraits/missing.webp",
        "portraits/dr-example-320.html",  # not a type the storage holds
        "../clinic/project/settings.py",
        "..%2Fclinic%2Fproject%2Fsettings.py",
        "/etc/passwd.png",
        "portraits/",
    ],
)
def test_anything_else_is_not_found(client, published, path):
    assert client.get(f"/media/{path}").status_code == 404


def test_only_get_and_head(client, published):
    assert client.post(f"/media/{published}").status_code == 405
