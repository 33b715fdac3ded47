"""The public wording of clinic's content in English and Spanish (django-modeltranslation).

Each field below gets a column per language (`text_en`, `text_es`); reading `text` gives the
active language's, and English when the Spanish is still empty. Names, addresses and phone
numbers stay as they are in every language.

History is registered here, after the translation fields exist, so the historical models hold
both languages: a `history = HistoricalRecords()` on these models would be built before them
and every save would fail (docs/decisions.md, "Spanish content").
"""

import simple_history
from modeltranslation.translator import TranslationOptions, register

from clinic.models import Closure, InsurancePlan, Location, Practice, Provider, RedFlag


@register(Practice)
class PracticeTranslation(TranslationOptions):
    fields = ("referral_policy", "referral_details")
    required_languages = ("en",)


@register(Location)
class LocationTranslation(TranslationOptions):
    fields = ("directions", "parking", "public_transit", "accessibility")


@register(Closure)
class ClosureTranslation(TranslationOptions):
    fields = ("reason",)
    required_languages = ("en",)


@register(RedFlag)
class RedFlagTranslation(TranslationOptions):
    fields = ("text",)
    required_languages = ("en",)


@register(Provider)
class ProviderTranslation(TranslationOptions):
    # A doctor's name and credentials are the same in every language.
    fields = ("specialty", "bio", "board_certifications")
    required_languages = {"en": ("specialty", "bio")}


@register(InsurancePlan)
class InsurancePlanTranslation(TranslationOptions):
    # Plan names are what the member's card says, in either language; only the note is worded.
    fields = ("note",)


for model in (Practice, Location, Closure, RedFlag, Provider, InsurancePlan):
    simple_history.register(model)
