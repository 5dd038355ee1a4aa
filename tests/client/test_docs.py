"""The CI examples stay valid YAML and keep using the CLI as documented."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml"])
def test_ci_example_submits_waits_and_fails_under(name):
    text = (DOCS / "examples" / name).read_text()
    yaml.safe_load(text)
    assert '#subdirectory=client"' in text
    assert "earthbench submit" in text
    for flag in ("--wait", "--fail-under", "EARTHBENCH_TOKEN", "EARTHBENCH_URL"):
        assert flag in text


def test_docs_list_every_exit_code():
    for doc in ("ci.md", "cli.md"):
        text = (DOCS / doc).read_text()
        for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 |"):
            assert code in text, (doc, code)
