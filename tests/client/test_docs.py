"""The CI examples stay valid YAML and keep using the CLI as documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"


def client_wheel() -> str:
    text = (REPO / "client" / "pyproject.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', text, re.M).group(1)
    return f"earthbench_client-{version}-py3-none-any.whl"


@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml"])
def test_ci_example_submits_waits_and_fails_under(name):
    text = (DOCS / "examples" / name).read_text()
    yaml.safe_load(text)
    # Installed from the instance, with the current version of the client.
    assert f'pip install "$EARTHBENCH_URL/downloads/{client_wheel()}"' in text
    assert "earthbench submit" in text
    for flag in ("--wait", "--fail-under", "EARTHBENCH_TOKEN", "EARTHBENCH_URL"):
        assert flag in text


def test_docs_list_every_exit_code():
    for doc in ("ci.md", "cli.md"):
        text = (DOCS / doc).read_text()
        for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 |"):
            assert code in text, (doc, code)
