"""Teams per benchmark, step 3 of 3: every team and membership has its
benchmark; one team per (user, benchmark) and unique names per benchmark."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0004_i25_teams_per_benchmark"),
    ]

    operations = [
        migrations.AlterField(
            model_name="team",
            name="benchmark",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="teams",
                to="eb_benchmarks.benchmark",
            ),
        ),
        migrations.AlterField(
            model_name="membership",
            name="benchmark",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="eb_benchmarks.benchmark",
            ),
        ),
        migrations.AddConstraint(
            model_name="team",
            constraint=models.UniqueConstraint(
                fields=("benchmark", "name"), name="uniq_team_name_per_benchmark"
            ),
        ),
        migrations.AddConstraint(
            model_name="membership",
            constraint=models.UniqueConstraint(
                fields=("user", "benchmark"), name="uniq_membership_per_benchmark"
            ),
        ),
    ]
