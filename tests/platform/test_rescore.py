from django.core.management import call_command

import evaluator
from earthbench.submissions import intake
from earthbench.submissions.models import Score
from tests.platform.conftest import upload


def test_rescore_keeps_old_scores_and_records_version(eurosat, user, half_right_csv, monkeypatch):
    sub, _ = intake.submission_create(user=user, benchmark=eurosat, file=upload(half_right_csv), filename="p.csv")
    old = set(Score.objects.filter(submission=sub).values_list("pk", flat=True))
    monkeypatch.setattr(evaluator, "__version__", "9.9.9-fixed")
    call_command("rescore", eurosat.slug)
    sub.refresh_from_db()
    assert sub.status == "scored"
    current = Score.objects.filter(submission=sub, is_current=True)
    assert {s.evaluator_version for s in current} == {"9.9.9-fixed"} and current.count() == 2
    assert Score.objects.filter(pk__in=old, is_current=False).count() == 2
    assert "re-score" in " ".join(sub.events.values_list("note", flat=True))
