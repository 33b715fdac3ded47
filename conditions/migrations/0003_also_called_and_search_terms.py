from django.db import migrations, models


class Migration(migrations.Migration):
    """Two fields for a page's other names; 0004 fills them from `aliases`, 0005 drops it."""

    dependencies = [
        ("conditions", "0002_search_index_and_content_editor_group"),
    ]

    operations = [
        migrations.AddField(
            model_name='condition',
            name='also_called',
            field=models.TextField(blank=True, help_text="Shown on the page as “Also called …” and given to search engines as the page's other names. Only names that mean exactly the same thing, one per line (e.g. “sciatica” for lumbar radicular pain). Search finds the page by them too.", verbose_name='also called'),
        ),
        migrations.AddField(
            model_name='condition',
            name='search_terms',
            field=models.TextField(blank=True, help_text='Never shown on the page; search finds the page by them. One per line: brand names, related conditions or procedures, everyday phrases (“pinched nerve in the lower back”) and common misspellings. Anything not exactly the same thing goes here.', verbose_name='search terms'),
        ),
        migrations.AddField(
            model_name='historicalcondition',
            name='also_called',
            field=models.TextField(blank=True, help_text="Shown on the page as “Also called …” and given to search engines as the page's other names. Only names that mean exactly the same thing, one per line (e.g. “sciatica” for lumbar radicular pain). Search finds the page by them too.", verbose_name='also called'),
        ),
        migrations.AddField(
            model_name='historicalcondition',
            name='search_terms',
            field=models.TextField(blank=True, help_text='Never shown on the page; search finds the page by them. One per line: brand names, related conditions or procedures, everyday phrases (“pinched nerve in the lower back”) and common misspellings. Anything not exactly the same thing goes here.', verbose_name='search terms'),
        ),
        migrations.AddField(
            model_name='historicaltreatment',
            name='also_called',
            field=models.TextField(blank=True, help_text="Shown on the page as “Also called …” and given to search engines as the page's other names. Only names that mean exactly the same thing, one per line (e.g. “sciatica” for lumbar radicular pain). Search finds the page by them too.", verbose_name='also called'),
        ),
        migrations.AddField(
            model_name='historicaltreatment',
            name='search_terms',
            field=models.TextField(blank=True, help_text='Never shown on the page; search finds the page by them. One per line: brand names, related conditions or procedures, everyday phrases (“pinched nerve in the lower back”) and common misspellings. Anything not exactly the same thing goes here.', verbose_name='search terms'),
        ),
        migrations.AddField(
            model_name='treatment',
            name='also_called',
            field=models.TextField(blank=True, help_text="Shown on the page as “Also called …” and given to search engines as the page's other names. Only names that mean exactly the same thing, one per line (e.g. “sciatica” for lumbar radicular pain). Search finds the page by them too.", verbose_name='also called'),
        ),
        migrations.AddField(
            model_name='treatment',
            name='search_terms',
            field=models.TextField(blank=True, help_text='Never shown on the page; search finds the page by them. One per line: brand names, related conditions or procedures, everyday phrases (“pinched nerve in the lower back”) and common misspellings. Anything not exactly the same thing goes here.', verbose_name='search terms'),
        ),
    ]
