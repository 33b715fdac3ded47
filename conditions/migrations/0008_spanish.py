"""Spanish: a column per language for the content fields (conditions/translation.py), the
Spanish version's translator and approval, and Spanish full-text search on PostgreSQL.

The English already written moves into the *_en columns, so nothing reads blank; the Spanish
columns start empty, which means "not translated".
"""

import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models
from django.db.models import F

# The translated fields as they were when this was written (conditions/translation.py).
PAGE = ["name", "also_called", "search_terms", "summary", "search_text"]
CONDITION = ["overview", "symptoms", "causes", "diagnosis", "treatment_approach",
             "when_to_seek_care", "prognosis"]  # fmt: skip
TREATMENT = ["what_it_is", "who_it_helps", "before_during_after", "recovery", "risks"]
TRANSLATED = {
    "Condition": [*PAGE, *CONDITION, *(f"{field}_html" for field in CONDITION)],
    "Treatment": [
        *PAGE, *TREATMENT, *(f"{field}_html" for field in TREATMENT), "conflict_of_interest",
    ],  # fmt: skip
    "TreatmentCategory": ["name", "description"],
    "TreatmentStep": ["note"],
    "ConditionRedFlag": ["text"],
    "FAQ": ["question", "answer", "answer_html"],
}

# Spanish words match with or without their accents ("cirugia" finds "cirugía"): the Spanish
# stemmer reads text with the accents taken off, in the query and in the page alike.
# Not Django's UnaccentExtension: migrating backwards, it queries PostgreSQL's catalogue on SQLite
# too. The extension stays when migrating back; other things may use it.
SPANISH_SEARCH = """
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE TEXT SEARCH CONFIGURATION spanish_unaccent (COPY = spanish);
ALTER TEXT SEARCH CONFIGURATION spanish_unaccent
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, spanish_stem;
"""


def copy_english(apps, schema_editor):
    """What update_translation_fields does: each field's text into its English column."""
    for model_name, fields in TRANSLATED.items():
        model = apps.get_model("conditions", model_name)
        model.objects.update(**{f"{field}_en": F(field) for field in fields})


def spanish_search(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SPANISH_SEARCH)


def drop_spanish_search(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS spanish_unaccent")


class Migration(migrations.Migration):

    dependencies = [
        ('conditions', '0007_clinical_signoff'),
    ]

    operations = [
        migrations.RunPython(spanish_search, drop_spanish_search),
        migrations.AddField(
            model_name='clinicalreview',
            name='language',
            field=models.CharField(choices=[('en', 'English'), ('es', 'Español')], default='en', max_length=5),
        ),
        migrations.AddField(
            model_name='clinicalreview',
            name='source_fingerprint',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name='clinicalreview',
            name='translated_by',
            field=models.CharField(blank=True, max_length=160),
        ),
        migrations.AddField(
            model_name='condition',
            name='also_called_en',
            field=models.TextField(blank=True, help_text="Shown on the page as “Also called …” and given to search engines as the page's other names. Only names that mean exactly the same thing, one per line (e.g. “sciatica” for lumbar radicular pain). Search finds the page by them too.", null=True, verbose_name='also called'),
        ),
        migrations.AddField(
            model_name='condition',
            name='also_called_es',
            field=models.TextField(blank=True, help_text="Shown on the page as “Also called …” and given to search engines as the page's other names. Only names that mean exactly the same thing, one per line (e.g. “sciatica” for lumbar radicular pain). Search finds the page by them too.", null=True, verbose_name='also called'),
        ),
        migrations.AddField(
            model_name='condition',
            name='causes_en',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Causes'),
        ),
        migrations.AddField(
            model_name='condition',
            name='causes_es',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Causes'),
        ),
        migrations.AddField(
            model_name='condition',
            name='causes_html_en',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='condition',
            name='causes_html_es',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='condition',
            name='diagnosis_en',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Diagnosis'),
        ),
        migrations.AddField(
            model_name='condition',
            name='diagnosis_es',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Diagnosis'),
        ),
        migrations.AddField(
            model_name='condition',
            name='diagnosis_html_en',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='condition',
            name='diagnosis_html_es',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='condition',
            name='name_en',
            field=models.CharField(max_length=120, null=True, unique=True),
        ),
        migrations.AddField(
            model_name='condition',
            name='name_es',
            field=models.CharField(max_length=120, null=True, unique=True),
        ),
        migrations.AddField(
            model_name='condition',
            name='overview_en',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Overview'),
        ),
        migrations.AddField(
            model_name='condition',
            name='overview_es',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Overview'),
        ),
        migrations.AddField(
            model_name='condition',
            name='overview_html_en',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='condition',
            name='overview_html_es',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='condition',
            name='prognosis_en',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Outlook'),
        ),
        migrations.AddField(
            model_name='condition',
            name='prognosis_es',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Outlook'),
        ),
        migrations.AddField(
            model_name='condition',
            name='prognosis_html_en',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='condition',
            name='prognosis_html_es',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='condition',
            name='search_terms_en',
            field=models.TextField(blank=True, help_text='Never shown on the page; search finds the page by them. One per line: brand names, related conditions or procedures, everyday phrases (“pinched nerve in the lower back”) and common misspellings. Anything not exactly the same thing goes here.', null=True, verbose_name='search terms'),
        ),
        migrations.AddField(
            model_name='condition',
            name='search_terms_es',
            field=models.TextField(blank=True, help_text='Never shown on the page; search finds the page by them. One per line: brand names, related conditions or procedures, everyday phrases (“pinched nerve in the lower back”) and common misspellings. Anything not exactly the same thing goes here.', null=True, verbose_name='search terms'),
        ),
        migrations.AddField(
            model_name='condition',
            name='search_text_en',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='condition',
            name='search_text_es',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='condition',
            name='search_vector_es',
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name='condition',
            name='summary_en',
            field=models.CharField(help_text='One or two sentences, at most 160 characters. Also the search-engine description.', max_length=160, null=True),
        ),
        migrations.AddField(
            model_name='condition',
            name='summary_es',
            field=models.CharField(help_text='One or two sentences, at most 160 characters. Also the search-engine description.', max_length=160, null=True),
        ),
        migrations.AddField(
            model_name='condition',
            name='symptoms_en',
            field=models.TextField(help_text='Markdown. List the symptoms as bullets.', null=True, verbose_name='Symptoms'),
        ),
        migrations.AddField(
            model_name='condition',
            name='symptoms_es',
            field=models.TextField(help_text='Markdown. List the symptoms as bullets.', null=True, verbose_name='Symptoms'),
        ),
        migrations.AddField(
            model_name='condition',
            name='symptoms_html_en',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='condition',
            name='symptoms_html_es',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='condition',
            name='translated_by',
            field=models.CharField(blank=True, help_text='Who translated the Spanish version, e.g. “Lucía Herrera, CHI-Spanish”. Shown on the Spanish page.', max_length=160, verbose_name='Spanish translated by'),
        ),
        migrations.AddField(
            model_name='condition',
            name='translation_approval',
            field=models.ForeignKey(editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='conditions.clinicalreview'),
        ),
        migrations.AddField(
            model_name='condition',
            name='treatment_approach_en',
            field=models.TextField(blank=True, help_text='Markdown, optional: the treatment plan step by step. The linked treatments are listed after it in ladder order.', null=True, verbose_name='How it is treated'),
        ),
        migrations.AddField(
            model_name='condition',
            name='treatment_approach_es',
            field=models.TextField(blank=True, help_text='Markdown, optional: the treatment plan step by step. The linked treatments are listed after it in ladder order.', null=True, verbose_name='How it is treated'),
        ),
        migrations.AddField(
            model_name='condition',
            name='treatment_approach_html_en',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='condition',
            name='treatment_approach_html_es',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='condition',
            name='when_to_seek_care_en',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='When to seek care'),
        ),
        migrations.AddField(
            model_name='condition',
            name='when_to_seek_care_es',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='When to seek care'),
        ),
        migrations.AddField(
            model_name='condition',
            name='when_to_seek_care_html_en',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='condition',
            name='when_to_seek_care_html_es',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='conditionredflag',
            name='text_en',
            field=models.CharField(help_text="One sign, in plain words. A sign that can wait until later today belongs under 'Get seen today', never under 'Call 911 now'.", max_length=200, null=True),
        ),
        migrations.AddField(
            model_name='conditionredflag',
            name='text_es',
            field=models.CharField(help_text="One sign, in plain words. A sign that can wait until later today belongs under 'Get seen today', never under 'Call 911 now'.", max_length=200, null=True),
        ),
        migrations.AddField(
            model_name='faq',
            name='answer_en',
            field=models.TextField(help_text='Markdown.', null=True),
        ),
        migrations.AddField(
            model_name='faq',
            name='answer_es',
            field=models.TextField(help_text='Markdown.', null=True),
        ),
        migrations.AddField(
            model_name='faq',
            name='answer_html_en',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='faq',
            name='answer_html_es',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='faq',
            name='question_en',
            field=models.CharField(max_length=300, null=True),
        ),
        migrations.AddField(
            model_name='faq',
            name='question_es',
            field=models.CharField(max_length=300, null=True),
        ),
        migrations.AddField(
            model_name='historicalcondition',
            name='also_called_en',
            field=models.TextField(blank=True, help_text="Shown on the page as “Also called …” and given to search engines as the page's other names. Only names that mean exactly the same thing, one per line (e.g. “sciatica” for lumbar radicular pain). Search finds the page by them too.", null=True, verbose_name='also called'),
        ),
        migrations.AddField(
            model_name='historicalcondition',
            name='also_called_es',
            field=models.TextField(blank=True, help_text="Shown on the page as “Also called …” and given to search engines as the page's other names. Only names that mean exactly the same thing, one per line (e.g. “sciatica” for lumbar radicular pain). Search finds the page by them too.", null=True, verbose_name='also called'),
        ),
        migrations.AddField(
            model_name='historicalcondition',
            name='causes_en',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Causes'),
        ),
        migrations.AddField(
            model_name='historicalcondition',
            name='causes_es',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Causes'),
        ),
        migrations.AddField(
            model_name='historicalcondition',
            name='diagnosis_en',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Diagnosis'),
        ),
        migrations.AddField(
            model_name='historicalcondition',
            name='diagnosis_es',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Diagnosis'),
        ),
        migrations.AddField(
            model_name='historicalcondition',
            name='name_en',
            field=models.CharField(db_index=True, max_length=120, null=True),
        ),
        migrations.AddField(
            model_name='historicalcondition',
            name='name_es',
            field=models.CharField(db_index=True, max_length=120, null=True),
        ),
        migrations.AddField(
            model_name='historicalcondition',
            name='overview_en',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Overview'),
        ),
        migrations.AddField(
            model_name='historicalcondition',
            name='overview_es',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Overview'),
        ),
        migrations.AddField(
            model_name='historicalcondition',
            name='prognosis_en',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Outlook'),
        ),
        migrations.AddField(
            model_name='historicalcondition',
            name='prognosis_es',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Outlook'),
        ),
        migrations.AddField(
            model_name='historicalcondition',
            name='search_terms_en',
            field=models.TextField(blank=True, help_text='Never shown on the page; search finds the page by them. One per line: brand names, related conditions or procedures, everyday phrases (“pinched nerve in the lower back”) and common misspellings. Anything not exactly the same thing goes here.', null=True, verbose_name='search terms'),
        ),
        migrations.AddField(
            model_name='historicalcondition',
            name='search_terms_es',
            field=models.TextField(blank=True, help_text='Never shown on the page; search finds the page by them. One per line: brand names, related conditions or procedures, everyday phrases (“pinched nerve in the lower back”) and common misspellings. Anything not exactly the same thing goes here.', null=True, verbose_name='search terms'),
        ),
        migrations.AddField(
            model_name='historicalcondition',
            name='summary_en',
            field=models.CharField(help_text='One or two sentences, at most 160 characters. Also the search-engine description.', max_length=160, null=True),
        ),
        migrations.AddField(
            model_name='historicalcondition',
            name='summary_es',
            field=models.CharField(help_text='One or two sentences, at most 160 characters. Also the search-engine description.', max_length=160, null=True),
        ),
        migrations.AddField(
            model_name='historicalcondition',
            name='symptoms_en',
            field=models.TextField(help_text='Markdown. List the symptoms as bullets.', null=True, verbose_name='Symptoms'),
        ),
        migrations.AddField(
            model_name='historicalcondition',
            name='symptoms_es',
            field=models.TextField(help_text='Markdown. List the symptoms as bullets.', null=True, verbose_name='Symptoms'),
        ),
        migrations.AddField(
            model_name='historicalcondition',
            name='translated_by',
            field=models.CharField(blank=True, help_text='Who translated the Spanish version, e.g. “Lucía Herrera, CHI-Spanish”. Shown on the Spanish page.', max_length=160, verbose_name='Spanish translated by'),
        ),
        migrations.AddField(
            model_name='historicalcondition',
            name='treatment_approach_en',
            field=models.TextField(blank=True, help_text='Markdown, optional: the treatment plan step by step. The linked treatments are listed after it in ladder order.', null=True, verbose_name='How it is treated'),
        ),
        migrations.AddField(
            model_name='historicalcondition',
            name='treatment_approach_es',
            field=models.TextField(blank=True, help_text='Markdown, optional: the treatment plan step by step. The linked treatments are listed after it in ladder order.', null=True, verbose_name='How it is treated'),
        ),
        migrations.AddField(
            model_name='historicalcondition',
            name='when_to_seek_care_en',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='When to seek care'),
        ),
        migrations.AddField(
            model_name='historicalcondition',
            name='when_to_seek_care_es',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='When to seek care'),
        ),
        migrations.AddField(
            model_name='historicalconditionredflag',
            name='text_en',
            field=models.CharField(help_text="One sign, in plain words. A sign that can wait until later today belongs under 'Get seen today', never under 'Call 911 now'.", max_length=200, null=True),
        ),
        migrations.AddField(
            model_name='historicalconditionredflag',
            name='text_es',
            field=models.CharField(help_text="One sign, in plain words. A sign that can wait until later today belongs under 'Get seen today', never under 'Call 911 now'.", max_length=200, null=True),
        ),
        migrations.AddField(
            model_name='historicalfaq',
            name='answer_en',
            field=models.TextField(help_text='Markdown.', null=True),
        ),
        migrations.AddField(
            model_name='historicalfaq',
            name='answer_es',
            field=models.TextField(help_text='Markdown.', null=True),
        ),
        migrations.AddField(
            model_name='historicalfaq',
            name='question_en',
            field=models.CharField(max_length=300, null=True),
        ),
        migrations.AddField(
            model_name='historicalfaq',
            name='question_es',
            field=models.CharField(max_length=300, null=True),
        ),
        migrations.AddField(
            model_name='historicaltreatment',
            name='also_called_en',
            field=models.TextField(blank=True, help_text="Shown on the page as “Also called …” and given to search engines as the page's other names. Only names that mean exactly the same thing, one per line (e.g. “sciatica” for lumbar radicular pain). Search finds the page by them too.", null=True, verbose_name='also called'),
        ),
        migrations.AddField(
            model_name='historicaltreatment',
            name='also_called_es',
            field=models.TextField(blank=True, help_text="Shown on the page as “Also called …” and given to search engines as the page's other names. Only names that mean exactly the same thing, one per line (e.g. “sciatica” for lumbar radicular pain). Search finds the page by them too.", null=True, verbose_name='also called'),
        ),
        migrations.AddField(
            model_name='historicaltreatment',
            name='before_during_after_en',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='What to expect before, during and after'),
        ),
        migrations.AddField(
            model_name='historicaltreatment',
            name='before_during_after_es',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='What to expect before, during and after'),
        ),
        migrations.AddField(
            model_name='historicaltreatment',
            name='conflict_of_interest_en',
            field=models.TextField(blank=True, help_text="For implant and device pages: any financial tie between the practice or its clinicians and a device's maker (fees, research funding, shares). Plain text, shown on the page when filled. Published at once: a disclosure never waits for review.", null=True, verbose_name='conflict-of-interest note'),
        ),
        migrations.AddField(
            model_name='historicaltreatment',
            name='conflict_of_interest_es',
            field=models.TextField(blank=True, help_text="For implant and device pages: any financial tie between the practice or its clinicians and a device's maker (fees, research funding, shares). Plain text, shown on the page when filled. Published at once: a disclosure never waits for review.", null=True, verbose_name='conflict-of-interest note'),
        ),
        migrations.AddField(
            model_name='historicaltreatment',
            name='name_en',
            field=models.CharField(db_index=True, max_length=120, null=True),
        ),
        migrations.AddField(
            model_name='historicaltreatment',
            name='name_es',
            field=models.CharField(db_index=True, max_length=120, null=True),
        ),
        migrations.AddField(
            model_name='historicaltreatment',
            name='recovery_en',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Recovery'),
        ),
        migrations.AddField(
            model_name='historicaltreatment',
            name='recovery_es',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Recovery'),
        ),
        migrations.AddField(
            model_name='historicaltreatment',
            name='risks_en',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Risks and side effects'),
        ),
        migrations.AddField(
            model_name='historicaltreatment',
            name='risks_es',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Risks and side effects'),
        ),
        migrations.AddField(
            model_name='historicaltreatment',
            name='search_terms_en',
            field=models.TextField(blank=True, help_text='Never shown on the page; search finds the page by them. One per line: brand names, related conditions or procedures, everyday phrases (“pinched nerve in the lower back”) and common misspellings. Anything not exactly the same thing goes here.', null=True, verbose_name='search terms'),
        ),
        migrations.AddField(
            model_name='historicaltreatment',
            name='search_terms_es',
            field=models.TextField(blank=True, help_text='Never shown on the page; search finds the page by them. One per line: brand names, related conditions or procedures, everyday phrases (“pinched nerve in the lower back”) and common misspellings. Anything not exactly the same thing goes here.', null=True, verbose_name='search terms'),
        ),
        migrations.AddField(
            model_name='historicaltreatment',
            name='summary_en',
            field=models.CharField(help_text='One or two sentences, at most 160 characters. Also the search-engine description.', max_length=160, null=True),
        ),
        migrations.AddField(
            model_name='historicaltreatment',
            name='summary_es',
            field=models.CharField(help_text='One or two sentences, at most 160 characters. Also the search-engine description.', max_length=160, null=True),
        ),
        migrations.AddField(
            model_name='historicaltreatment',
            name='translated_by',
            field=models.CharField(blank=True, help_text='Who translated the Spanish version, e.g. “Lucía Herrera, CHI-Spanish”. Shown on the Spanish page.', max_length=160, verbose_name='Spanish translated by'),
        ),
        migrations.AddField(
            model_name='historicaltreatment',
            name='what_it_is_en',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='What it is'),
        ),
        migrations.AddField(
            model_name='historicaltreatment',
            name='what_it_is_es',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='What it is'),
        ),
        migrations.AddField(
            model_name='historicaltreatment',
            name='who_it_helps_en',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Who it helps'),
        ),
        migrations.AddField(
            model_name='historicaltreatment',
            name='who_it_helps_es',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Who it helps'),
        ),
        migrations.AddField(
            model_name='historicaltreatmentcategory',
            name='description_en',
            field=models.CharField(blank=True, max_length=300, null=True),
        ),
        migrations.AddField(
            model_name='historicaltreatmentcategory',
            name='description_es',
            field=models.CharField(blank=True, max_length=300, null=True),
        ),
        migrations.AddField(
            model_name='historicaltreatmentcategory',
            name='name_en',
            field=models.CharField(db_index=True, max_length=80, null=True),
        ),
        migrations.AddField(
            model_name='historicaltreatmentcategory',
            name='name_es',
            field=models.CharField(db_index=True, max_length=80, null=True),
        ),
        migrations.AddField(
            model_name='historicaltreatmentstep',
            name='note_en',
            field=models.CharField(blank=True, help_text='Its role for this condition.', max_length=200, null=True),
        ),
        migrations.AddField(
            model_name='historicaltreatmentstep',
            name='note_es',
            field=models.CharField(blank=True, help_text='Its role for this condition.', max_length=200, null=True),
        ),
        migrations.AddField(
            model_name='treatment',
            name='also_called_en',
            field=models.TextField(blank=True, help_text="Shown on the page as “Also called …” and given to search engines as the page's other names. Only names that mean exactly the same thing, one per line (e.g. “sciatica” for lumbar radicular pain). Search finds the page by them too.", null=True, verbose_name='also called'),
        ),
        migrations.AddField(
            model_name='treatment',
            name='also_called_es',
            field=models.TextField(blank=True, help_text="Shown on the page as “Also called …” and given to search engines as the page's other names. Only names that mean exactly the same thing, one per line (e.g. “sciatica” for lumbar radicular pain). Search finds the page by them too.", null=True, verbose_name='also called'),
        ),
        migrations.AddField(
            model_name='treatment',
            name='before_during_after_en',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='What to expect before, during and after'),
        ),
        migrations.AddField(
            model_name='treatment',
            name='before_during_after_es',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='What to expect before, during and after'),
        ),
        migrations.AddField(
            model_name='treatment',
            name='before_during_after_html_en',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='treatment',
            name='before_during_after_html_es',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='treatment',
            name='conflict_of_interest_en',
            field=models.TextField(blank=True, help_text="For implant and device pages: any financial tie between the practice or its clinicians and a device's maker (fees, research funding, shares). Plain text, shown on the page when filled. Published at once: a disclosure never waits for review.", null=True, verbose_name='conflict-of-interest note'),
        ),
        migrations.AddField(
            model_name='treatment',
            name='conflict_of_interest_es',
            field=models.TextField(blank=True, help_text="For implant and device pages: any financial tie between the practice or its clinicians and a device's maker (fees, research funding, shares). Plain text, shown on the page when filled. Published at once: a disclosure never waits for review.", null=True, verbose_name='conflict-of-interest note'),
        ),
        migrations.AddField(
            model_name='treatment',
            name='name_en',
            field=models.CharField(max_length=120, null=True, unique=True),
        ),
        migrations.AddField(
            model_name='treatment',
            name='name_es',
            field=models.CharField(max_length=120, null=True, unique=True),
        ),
        migrations.AddField(
            model_name='treatment',
            name='recovery_en',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Recovery'),
        ),
        migrations.AddField(
            model_name='treatment',
            name='recovery_es',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Recovery'),
        ),
        migrations.AddField(
            model_name='treatment',
            name='recovery_html_en',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='treatment',
            name='recovery_html_es',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='treatment',
            name='risks_en',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Risks and side effects'),
        ),
        migrations.AddField(
            model_name='treatment',
            name='risks_es',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Risks and side effects'),
        ),
        migrations.AddField(
            model_name='treatment',
            name='risks_html_en',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='treatment',
            name='risks_html_es',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='treatment',
            name='search_terms_en',
            field=models.TextField(blank=True, help_text='Never shown on the page; search finds the page by them. One per line: brand names, related conditions or procedures, everyday phrases (“pinched nerve in the lower back”) and common misspellings. Anything not exactly the same thing goes here.', null=True, verbose_name='search terms'),
        ),
        migrations.AddField(
            model_name='treatment',
            name='search_terms_es',
            field=models.TextField(blank=True, help_text='Never shown on the page; search finds the page by them. One per line: brand names, related conditions or procedures, everyday phrases (“pinched nerve in the lower back”) and common misspellings. Anything not exactly the same thing goes here.', null=True, verbose_name='search terms'),
        ),
        migrations.AddField(
            model_name='treatment',
            name='search_text_en',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='treatment',
            name='search_text_es',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='treatment',
            name='search_vector_es',
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name='treatment',
            name='summary_en',
            field=models.CharField(help_text='One or two sentences, at most 160 characters. Also the search-engine description.', max_length=160, null=True),
        ),
        migrations.AddField(
            model_name='treatment',
            name='summary_es',
            field=models.CharField(help_text='One or two sentences, at most 160 characters. Also the search-engine description.', max_length=160, null=True),
        ),
        migrations.AddField(
            model_name='treatment',
            name='translated_by',
            field=models.CharField(blank=True, help_text='Who translated the Spanish version, e.g. “Lucía Herrera, CHI-Spanish”. Shown on the Spanish page.', max_length=160, verbose_name='Spanish translated by'),
        ),
        migrations.AddField(
            model_name='treatment',
            name='translation_approval',
            field=models.ForeignKey(editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='conditions.clinicalreview'),
        ),
        migrations.AddField(
            model_name='treatment',
            name='what_it_is_en',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='What it is'),
        ),
        migrations.AddField(
            model_name='treatment',
            name='what_it_is_es',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='What it is'),
        ),
        migrations.AddField(
            model_name='treatment',
            name='what_it_is_html_en',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='treatment',
            name='what_it_is_html_es',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='treatment',
            name='who_it_helps_en',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Who it helps'),
        ),
        migrations.AddField(
            model_name='treatment',
            name='who_it_helps_es',
            field=models.TextField(help_text='Markdown.', null=True, verbose_name='Who it helps'),
        ),
        migrations.AddField(
            model_name='treatment',
            name='who_it_helps_html_en',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='treatment',
            name='who_it_helps_html_es',
            field=models.TextField(default='', editable=False, null=True),
        ),
        migrations.AddField(
            model_name='treatmentcategory',
            name='description_en',
            field=models.CharField(blank=True, max_length=300, null=True),
        ),
        migrations.AddField(
            model_name='treatmentcategory',
            name='description_es',
            field=models.CharField(blank=True, max_length=300, null=True),
        ),
        migrations.AddField(
            model_name='treatmentcategory',
            name='name_en',
            field=models.CharField(max_length=80, null=True, unique=True),
        ),
        migrations.AddField(
            model_name='treatmentcategory',
            name='name_es',
            field=models.CharField(max_length=80, null=True, unique=True),
        ),
        migrations.AddField(
            model_name='treatmentstep',
            name='note_en',
            field=models.CharField(blank=True, help_text='Its role for this condition.', max_length=200, null=True),
        ),
        migrations.AddField(
            model_name='treatmentstep',
            name='note_es',
            field=models.CharField(blank=True, help_text='Its role for this condition.', max_length=200, null=True),
        ),
        migrations.AddField(
            model_name='condition',
            name='translation_import_fingerprint',
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name='treatment',
            name='translation_import_fingerprint',
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AlterField(
            model_name='condition',
            name='summary_es',
            field=models.CharField(help_text='One sentence or two, at most 200 characters. Also the Spanish search-engine description.', max_length=200, null=True),
        ),
        migrations.AlterField(
            model_name='historicalcondition',
            name='summary_es',
            field=models.CharField(help_text='One sentence or two, at most 200 characters. Also the Spanish search-engine description.', max_length=200, null=True),
        ),
        migrations.AlterField(
            model_name='historicaltreatment',
            name='summary_es',
            field=models.CharField(help_text='One sentence or two, at most 200 characters. Also the Spanish search-engine description.', max_length=200, null=True),
        ),
        migrations.AlterField(
            model_name='treatment',
            name='summary_es',
            field=models.CharField(help_text='One sentence or two, at most 200 characters. Also the Spanish search-engine description.', max_length=200, null=True),
        ),

        migrations.RunPython(copy_english, migrations.RunPython.noop),
    ]
