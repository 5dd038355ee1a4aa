"""No placeholder URL in what people read or copy: docs, examples, templates, the
README, the packaging files. (Install commands point at the instance's /downloads/.)"""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Built from pieces so that this file does not match itself.
PATTERNS = [
    re.compile(r"\b" + "OWN" + r"ER\b"),                     # github.com/OWNER/...
    re.compile("<repo" + r"-url>", re.I),
    re.compile(r"\b(?:YOUR|your)[_-](?:ORG|USER|REPO|org|user|repo)\b"),
    re.compile(r"git\+https?://"),                          # pip from a repository
    re.compile(r"(?:github|gitlab)\.(?:example\.)?com/" + r"(?:OWNER|owner|you|your|example)\b", re.I),
    re.compile(r"gitlab\.example\.com"),
]
FILES = [
    *REPO.glob("docs/**/*.md"), *REPO.glob("docs/examples/*"),
    *REPO.glob("templates/**/*.html"), *REPO.glob("templates/**/*.txt"),
    REPO / "README.md", *REPO.glob("*/pyproject.toml"), REPO / "pyproject.toml",
    *REPO.glob("docker/*"), REPO / "Makefile",
]


def test_files_are_checked():
    names = {p.relative_to(REPO).as_posix() for p in FILES}
    assert {"docs/ci.md", "docs/cli.md", "docs/examples/github-actions.yml",
            "templates/web/getting_started.html", "README.md"} <= names


def test_no_placeholder_urls():
    hits = []
    for path in FILES:
        if not path.is_file():
            continue
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            hits += [f"{path.relative_to(REPO)}:{n}: {line.strip()}"
                     for p in PATTERNS if p.search(line)]
    assert not hits, "placeholder URLs:\n" + "\n".join(hits)
