"""Idempotency key derivation: stable across CI retries, distinct otherwise."""

from __future__ import annotations

import hashlib

from earthbench_client.idempotency import (
    ci_commit,
    default_key,
    derive_key,
    file_sha256,
    invocation_key,
)

SHA = "a" * 64


def test_no_ci_variables_means_no_default_key():
    assert default_key(env={}, benchmark="b", sha256=SHA, kind="predictions") is None
    assert ci_commit({"GITHUB_SHA": "  "}) is None


def test_github_and_gitlab_commits_are_used():
    assert ci_commit({"GITHUB_SHA": "abc"}) == "abc"
    assert ci_commit({"CI_COMMIT_SHA": "def"}) == "def"
    # GitHub's variable wins when both are present (e.g. a mirrored pipeline).
    assert ci_commit({"GITHUB_SHA": "abc", "CI_COMMIT_SHA": "def"}) == "abc"


def test_same_inputs_give_the_same_key():
    env = {"GITHUB_SHA": "c0ffee"}
    k1 = default_key(env=env, benchmark="b", sha256=SHA, kind="predictions")
    k2 = default_key(env=dict(env), benchmark="b", sha256=SHA, kind="predictions")
    assert k1 == k2
    assert k1.startswith("ci-") and len(k1) <= 200


def test_key_changes_with_each_input():
    base = dict(commit="c0ffee", benchmark="b", sha256=SHA, kind="predictions")
    keys = {derive_key(**base)}
    for name, other in [
        ("commit", "beef"),
        ("benchmark", "b2"),
        ("sha256", "b" * 64),
        ("kind", "container"),
    ]:
        keys.add(derive_key(**{**base, name: other}))
    assert len(keys) == 5


def test_key_matches_the_documented_recipe():
    expected = hashlib.sha256(b"earthbench/v1\nc0ffee\nb\npredictions\n" + SHA.encode())
    assert derive_key(
        commit="c0ffee", benchmark="b", sha256=SHA, kind="predictions"
    ) == ("ci-" + expected.hexdigest())


def test_gitlab_and_github_same_commit_same_key():
    a = default_key(
        env={"GITHUB_SHA": "x1"}, benchmark="b", sha256=SHA, kind="predictions"
    )
    b = default_key(
        env={"CI_COMMIT_SHA": "x1"}, benchmark="b", sha256=SHA, kind="predictions"
    )
    assert a == b


def test_file_sha256_streams_in_chunks(tmp_path):
    data = bytes(range(256)) * 5000
    p = tmp_path / "f.bin"
    p.write_bytes(data)
    assert file_sha256(p, chunk_size=1000) == hashlib.sha256(data).hexdigest()


def test_invocation_keys_are_unique():
    assert invocation_key() != invocation_key()
