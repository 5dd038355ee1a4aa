"""The Python PTB tokenizer (used without Java) against the CoreNLP 3.4.1 jar
that pycocoevalcap runs: token-for-token equality on a large varied caption
corpus (``ptb_corpus``: unicode punctuation, quotes, dashes, ellipses, emoji,
possessives, contractions, hashtags, numbers with separators, abbreviations,
URLs, emoticons, symbols, mixed scripts, glued or spaced) and on hand-picked
hard cases. Skipped cleanly where Java is absent."""

from __future__ import annotations

import pytest

from evaluator.text.tokenizer import java_available, tokenize_java, tokenize_python
from tests.evaluator.ptb_corpus import CATEGORIES, captions, random_strings

pytest.importorskip("pycocoevalcap")
pytestmark = pytest.mark.skipif(not java_available(), reason="no Java runtime")

HARD = [
    "“Quoted” words and ‘single’ ones, «guillemets» and „low“ quotes",
    "a plane’s wing and the planes' wings; it’s here — really – yes",
    "wait… what... dots . . . and .... and ...... end",
    "emoji 😀 here 🚀! and ❤️ too 👍🏽",
    "#tag and #another_tag @user #a1 #123 ##",
    "really?! no!! yes? ok:) sad :-( <3 ^_^",
    "1,000 and 3.5 and 1.000.000 and 12:30 and 3/4 and 1 1/2 and ½ ⅔ ⅛ and 50% $5 €5 £3 ¢",
    "don't can't won't I'm you're we've they'll he'd cannot gonna wanna 'tis 'twas",
    "a road (near) [the] {river} <b>bold</b> a < b > c",
    "e.g. u.s. mr. smith etc. vs. a.m. p.m. U.S. He went. etc. The end.",
    "No. 5 and no. 5 and No. five and fig. 3 and Inc.a and etc.ab and Ph.D.a",
    "中文 字幕 Ελληνικά русский العربية עברית हिन्दी日本語 한국어 café naïve straße",
    "co-operation well-known 2-lane 10-year-old e-mail AT&T R&D a_b x/y a*b",
    "www.example.com http://x.org/a?b=c mail@x.com <3@user C# F# c#3",
    "(555) 123-4567 555-1234 12-12-2012 2012-12-12 1.2.3",
    "° ± × ÷ § © ® ™ • · ‰ ′ ″ → ∞ ≈ &amp; &quot;x&quot; &lt;",
    "tab\tinside\u00a0nbsp\u2009thin\u3000ideographic\u200bzero-width",
    "",
]


def _compare(caps: list[str]) -> list[tuple[str, str, str]]:
    java = tokenize_java(caps)
    assert java is not None, "the jar did not run"
    python = tokenize_python(caps)
    return [(c, j, p) for c, j, p in zip(caps, java, python, strict=True) if j != p]


def test_hard_cases_token_for_token():
    assert _compare(HARD) == []


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_varied_corpus_token_for_token(seed):
    caps = captions(4000, seed)
    assert len(caps) > 3900
    # every category is represented
    for name, frags in CATEGORIES.items():
        assert any(f in c for c in caps for f in frags[:5]), name
    bad = _compare(caps)
    assert bad == [], bad[:5]


@pytest.mark.parametrize("seed", [0, 1])
def test_random_character_strings_token_for_token(seed):
    bad = _compare(random_strings(3000, seed))
    assert bad == [], bad[:5]


def test_next_line_can_decide_a_token():
    # "no." keeps its period only before a number — also the next line's, as
    # the jar reads one file; the Python lexer reads the lines the same way.
    caps = ["the plant No.", "5 tanks", "the plant No.", "tanks", "etc.", "The end"]
    assert _compare(caps) == []
    assert tokenize_python(caps)[:4] == [
        "the plant no.",
        "5 tanks",
        "the plant no",
        "tanks",
    ]


def test_scores_without_java_equal_pycocoevalcap(tmp_path, monkeypatch):
    from evaluator import api
    from tests.evaluator.test_captioning import reference_scores, write_case

    caps = captions(240, seed=7)
    refs = {k: caps[4 * k : 4 * k + 3] for k in range(60)}
    hyps = {k: caps[4 * k + 3] for k in range(60)}
    p, t = write_case(tmp_path, refs, hyps)
    monkeypatch.setenv("EARTHBENCH_NO_JAVA", "1")
    out = api.score("captioning", p, t, {"meteor": False})
    assert out["tokenizer"] == "ptb-python"
    ref = reference_scores(refs, hyps)  # pycocoevalcap, its jar
    for key, val in ref.items():
        assert out[key] == pytest.approx(val, rel=1e-9, abs=1e-12), key
