"""PTB tokenisation exactly as pycocoevalcap's ``PTBTokenizer`` does it.

pycocoevalcap runs Stanford CoreNLP 3.4.1's ``PTBTokenizer -preserveLines
-lowerCase`` (jar shipped in the package) and then drops punctuation tokens. We run
the same jar the same way. Quirk kept on purpose: ``-lowerCase`` turns ``-LRB-`` into
``-lrb-``, which is *not* in pycocoevalcap's punctuation list, so brackets survive
as ``-lrb-``/``-rrb-`` tokens.

Better than the reference on purpose: line-break characters inside a caption
(``\r``, ``\n``, U+2028, U+2029, and the other line terminators of CoreNLP's lexer:
U+000B, U+000C, U+0085) are replaced by spaces before tokenising, in both paths
(:func:`normalize_line_breaks`). pycocoevalcap replaces only ``\n``, so a ``\r`` or
U+2028 makes the jar emit two lines for one caption and shifts every later
caption onto the wrong image.

When Java (or the jar) is unavailable, :func:`tokenize_python` is used instead: a
longest-match lexer written after the jar's grammar (:mod:`ptb_lexer`), equal to
the jar token for token on the RSICD/Sydney references and on a generated corpus
of 12,000 captions full of unicode punctuation, quotes, dashes, ellipses, emoji,
possessives, contractions, hashtags, numbers, abbreviations, URLs, emoticons and
mixed scripts (``tests/evaluator/test_ptb_conformance.py``); the result records
which one ran.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from evaluator.text.ptb_lexer import ptb_lines

# pycocoevalcap.tokenizer.ptbtokenizer.PUNCTUATIONS, verbatim
PUNCTUATIONS = frozenset(
    ["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-"]
    + [".", "?", "!", ",", ":", "-", "--", "...", ";"]
)
JAVA_TIMEOUT_S = 600


def pycocoevalcap_dir() -> Path | None:
    """Folder of the installed pycocoevalcap package (holds the jars)."""
    # pycocoevalcap ships no __init__.py (namespace package): use its spec.
    spec = importlib.util.find_spec("pycocoevalcap")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]).resolve()


def java_available() -> bool:
    """True when a working ``java`` is on PATH (``java -version`` succeeds)."""
    java = shutil.which("java")
    # EARTHBENCH_NO_JAVA=1 simulates a host without Java (tests, sandboxes).
    if java is None or os.environ.get("EARTHBENCH_NO_JAVA") == "1":
        return False
    try:
        res = subprocess.run(
            [java, "-version"], capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return res.returncode == 0


# CoreNLP PTBLexer's NEWLINE: \r, \n, U+2028, U+2029, U+000B, U+000C, U+0085.
_LINE_BREAKS = re.compile("[\r\n\u2028\u2029\u000b\u000c\u0085]")


def normalize_line_breaks(caption: str) -> str:
    """Every line-break character → one space (one caption = one line)."""
    return _LINE_BREAKS.sub(" ", caption)


def _drop_punct(line: str) -> str:
    return " ".join(w for w in line.rstrip().split(" ") if w not in PUNCTUATIONS)


def tokenize_java(captions: list[str]) -> list[str] | None:
    """Tokenise with the CoreNLP jar; None if Java or the jar is unusable."""
    base = pycocoevalcap_dir()
    jar = base / "tokenizer" / "stanford-corenlp-3.4.1.jar" if base else None
    if jar is None or not jar.exists() or not java_available():
        return None
    text = "\n".join(normalize_line_breaks(c) for c in captions)
    with tempfile.TemporaryDirectory(prefix="ptbtok-") as tmp:
        src = Path(tmp) / "captions.txt"
        src.write_bytes(text.encode())
        cmd = [
            "java",
            "-cp",
            str(jar),
            "edu.stanford.nlp.process.PTBTokenizer",
            "-preserveLines",
            "-lowerCase",
            str(src),
        ]
        try:
            res = subprocess.run(
                cmd, capture_output=True, timeout=JAVA_TIMEOUT_S, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
    if res.returncode != 0:
        return None
    lines = res.stdout.decode().split("\n")
    if len(lines) < len(captions):
        return None
    return [_drop_punct(line) for line in lines[: len(captions)]]


# Python fallback -----------------------------------------------------------------


def tokenize_python(captions: list[str]) -> list[str]:
    """The jar's tokenisation re-implemented in Python (:mod:`ptb_lexer`),
    lowercased, punctuation tokens dropped as pycocoevalcap does."""
    lines = ptb_lines([normalize_line_breaks(c) for c in captions])
    return [_drop_punct(" ".join(toks)) for toks in lines]


def tokenize(captions: list[str], *, prefer_java: bool = True) -> tuple[list[str], str]:
    """Tokenised captions and the tokenizer used (``ptb-corenlp``/``ptb-python``)."""
    if prefer_java:
        toks = tokenize_java(captions)
        if toks is not None:
            return toks, "ptb-corenlp"
    return tokenize_python(captions), "ptb-python"
