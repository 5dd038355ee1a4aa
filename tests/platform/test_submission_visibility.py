"""Who may see a submission is one rule (``submissions.selectors``), and the API
and the website answer by it alike: for every role the submission's API detail,
its page and its status JSON agree with ``can_see``, and they show the same
scores (``visible_scores``: the private split to hosts and staff before the
deadline)."""

from __future__ import annotations

from earthbench.submissions.selectors import can_see, visible_scores
from tests.platform import test_permissions_matrix as matrix

world = matrix.world  # roles: anon, owner, other, member, host, staff


def test_api_and_site_follow_the_one_visibility_rule(world):
    sub = world["sub"]
    sub.refresh_from_db()
    assert sub.status == "scored"
    seen = {}
    for role in matrix.ROLES:
        user = world["users"].get(role)
        visible = user is not None and can_see(submission=sub, user=user)
        api = matrix.api(world, role).get(f"/api/v1/submissions/{sub.pk}/")
        page = matrix.web(world, role).get(f"/submissions/{sub.pk}/")
        status = matrix.web(world, role).get(f"/submissions/{sub.pk}/status.json")
        if user is None:  # sign in first
            assert (api.status_code, page.status_code, status.status_code) == (401, 302, 302)
            continue
        want = 200 if visible else 404
        assert (api.status_code, page.status_code, status.status_code) == (want, want, want), role
        if visible:
            splits = {s.split for s in visible_scores(submission=sub, user=user)}
            assert {s["split"] for s in api.json()["scores"]} == splits, role
            assert {s["split"] for s in status.json()["scores"]} == splits, role
            seen[role] = splits
    assert seen == {
        "owner": {"public"}, "member": {"public"},
        "host": {"public", "private"}, "staff": {"public", "private"},
    }
