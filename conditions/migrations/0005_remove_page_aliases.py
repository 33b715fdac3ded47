from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("conditions", "0004_split_aliases"),
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
