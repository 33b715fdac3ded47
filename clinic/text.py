"""How search compares text: the same in every app (condition pages, insurance plans), and on
SQLite and PostgreSQL (conditions/apps.py gives SQLite an UNACCENT that calls fold)."""

import unicodedata


def strip_accents(text):
    """The text with its accents taken off, letter for letter ("Ciática" → "Ciatica"), so
    positions in it are positions in the text."""
    return "".join(unicodedata.normalize("NFD", char)[0] for char in text)


def fold(text):
    """Text as Spanish search compares it: no accents, lower case ("Cirugía" → "cirugia")."""
    return strip_accents(text or "").lower()
