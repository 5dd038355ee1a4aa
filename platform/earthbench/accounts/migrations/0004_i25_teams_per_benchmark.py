"""Teams per benchmark, step 2 of 3: data (issue 25).

Each global team becomes one team per benchmark on which it has submissions
(or leaderboard entries): the team row itself keeps the first such benchmark
(so its ids stay valid there), a copy with the same name, kind, join code and
memberships is made for each further benchmark, and that benchmark's
submissions and leaderboard entries are re-pointed to the copy. Leaderboard
values and order do not change (entries are moved, not recomputed; ranks never
depend on team ids). A global team without any submission is removed with its
memberships: its members get a personal team on their next submission.
"""

from django.db import migrations


def forward(apps, schema_editor):
    Team = apps.get_model("accounts", "Team")
    Membership = apps.get_model("accounts", "Membership")
    Submission = apps.get_model("eb_submissions", "Submission")
    Entry = apps.get_model("eb_leaderboards", "LeaderboardEntry")
    for team in Team.objects.filter(benchmark__isnull=True).order_by("pk"):
        bench_ids = sorted(
            set(Submission.objects.filter(team=team).values_list("benchmark_id", flat=True))
            | set(Entry.objects.filter(team=team).values_list("benchmark_id", flat=True))
        )
        members = list(Membership.objects.filter(team=team).order_by("pk"))
        if not bench_ids:
            Membership.objects.filter(team=team).delete()
            team.delete()
            continue
        first, *rest = bench_ids
        for bench_id in rest:
            copy = Team.objects.create(
                benchmark_id=bench_id,
                name=team.name,
                is_personal=team.is_personal,
                join_code=team.join_code,
            )
            Team.objects.filter(pk=copy.pk).update(created_at=team.created_at)
            for m in members:
                new = Membership.objects.create(
                    team=copy, user_id=m.user_id, benchmark_id=bench_id, role=m.role
                )
                Membership.objects.filter(pk=new.pk).update(joined_at=m.joined_at)
            Submission.objects.filter(team=team, benchmark_id=bench_id).update(team=copy)
            Entry.objects.filter(team=team, benchmark_id=bench_id).update(team=copy)
        Team.objects.filter(pk=team.pk).update(benchmark_id=first)
        Membership.objects.filter(team=team).update(benchmark_id=first)


def backward(apps, schema_editor):
    Team = apps.get_model("accounts", "Team")
    if Team.objects.exists():
        raise RuntimeError(
            "teams per benchmark cannot be folded back into global teams; "
            "restore a backup taken before migration accounts.0004_i25_teams_per_benchmark"
        )


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0003_i25_team_benchmark"),
        ("eb_submissions", "0003_upload"),
        ("eb_leaderboards", "0001_initial"),
    ]

    operations = [migrations.RunPython(forward, backward)]
