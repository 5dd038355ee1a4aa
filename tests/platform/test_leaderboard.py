from datetime import timedelta

from django.utils import timezone

from earthbench.leaderboards.selectors import leaderboard_rows, split_visible
from earthbench.submissions import intake
from earthbench.submissions.baselines import baseline_ensure
from tests.platform.conftest import UserFactory, upload


def test_best_entry_per_team_baseline_unranked(eurosat, user, other_user, perfect_csv, half_right_csv):
    baseline_ensure(benchmark=eurosat)
    intake.submission_create(user=user, benchmark=eurosat, file=upload(half_right_csv), filename="a.csv")
    intake.submission_create(user=user, benchmark=eurosat, file=upload(perfect_csv), filename="b.csv")
    intake.submission_create(user=other_user, benchmark=eurosat, file=upload(half_right_csv), filename="c.csv")
    rows = leaderboard_rows(benchmark=eurosat, split="public")
    ranked = [r for r in rows if not r.is_baseline]
    assert [r.rank for r in ranked] == [1, 2]
    assert ranked[0].team == user.username and ranked[0].primary_value == 1.0 and ranked[0].entries == 2
    base = [r for r in rows if r.is_baseline]
    assert len(base) == 1 and base[0].rank is None


def test_tie_goes_to_earlier_submission(eurosat, half_right_csv):
    a, b = UserFactory(), UserFactory()
    intake.submission_create(user=b, benchmark=eurosat, file=upload(half_right_csv), filename="x.csv")
    intake.submission_create(user=a, benchmark=eurosat, file=upload(half_right_csv), filename="x.csv")
    rows = leaderboard_rows(benchmark=eurosat, split="public")
    assert [r.team for r in rows] == [b.username, a.username]


def test_private_split_hidden_until_deadline(eurosat, user):
    eurosat.deadline = timezone.now() + timedelta(days=1)
    eurosat.save()
    assert not split_visible(benchmark=eurosat, split="private", user=user)
    assert split_visible(benchmark=eurosat, split="private", user=user, now=eurosat.deadline)
    eurosat.hosts.add(user)
    assert split_visible(benchmark=eurosat, split="private", user=user)
