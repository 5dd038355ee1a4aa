from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("eb_submissions", "0005_i22_rank_uncertainty"),
    ]

    operations = [
        migrations.AddField(
            model_name="submission",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
