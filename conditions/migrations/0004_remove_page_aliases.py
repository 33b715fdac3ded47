from django.db import migrations


class Migration(migrations.Migration):
    """Apart from 0003: on PostgreSQL its data changes commit before the tables are altered."""

    dependencies = [
        ("conditions", "0003_also_called_and_search_terms"),
    ]

    operations = [
        migrations.RemoveField(
            model_name='condition',
            name='aliases',
        ),
        migrations.RemoveField(
            model_name='historicalcondition',
            name='aliases',
        ),
        migrations.RemoveField(
            model_name='historicaltreatment',
            name='aliases',
        ),
        migrations.RemoveField(
            model_name='treatment',
            name='aliases',
        ),
    ]
