"""The per-kind prediction cap in the platform (issue 18): enforced in the worker
before the scoring child parses anything, shown on the Data tab and in the API."""

from __future__ import annotations

from earthbench.benchmarks.layout import prediction_cap_of
from earthbench.submissions import attempt, intake
from earthbench.submissions.models import Submission
from evaluator.kinds.classification import Classification
from tests.platform.conftest import upload


def test_file_over_the_cap_fails_before_parsing(user, eurosat, truth_rows, monkeypatch):
    monkeypatch.setattr(Classification, "prediction_slack_bytes", 0)
    cap = prediction_cap_of(eurosat)
    assert cap.n_samples == len(truth_rows) and cap.total == 512 * len(truth_rows)
    body = "id,label\n" + "".join(f"{a},{b}\n" for a, b in truth_rows)
    content = (body + " " * 100 + "\n") * 1  # valid CSV...
    content = content.encode() + b"\n" * (cap.total + 1 - len(content))  # ...1 byte over
    sub, _ = intake.submission_create(
        user=user, benchmark=eurosat, file=upload(content), filename="p.csv", enqueue=False
    )
    sub = attempt.score_file_submission(submission_id=sub.pk)
    assert sub.status == Submission.Status.FAILED
    assert f"over the limit of {cap.total} bytes for this benchmark" in sub.error, sub.error


def test_cap_on_the_data_tab_and_in_the_api(client, eurosat, truth_rows):
    cap = prediction_cap_of(eurosat)
    html = client.get(f"/benchmarks/{eurosat.slug}/data/").content.decode()
    assert 'id="size-cap"' in html and f"{cap.total} bytes" in html
    assert "512 bytes per test sample" in html
    data = client.get(f"/api/v1/benchmarks/{eurosat.slug}/").json()
    assert data["max_prediction_bytes"] == cap.total
