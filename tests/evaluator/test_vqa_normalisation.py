"""Open-ended VQA answers: ``normalize_answer`` against a transcription of the
official VQA evaluation's rules (``vqaEval.py``: ``processPunctuation`` then
``processDigitArticle``, written here loop by loop as the reference states them,
with its regular expressions verbatim), on a corpus of tricky answers and on
random strings of the characters the rules care about."""

from __future__ import annotations

import json
import random
import re

import pytest

from evaluator import api
from evaluator.text.answers import CONTRACTIONS, normalize_answer, normalize_exact

# --- transcription of the official rules ------------------------------------------

REF_PUNCT = [";", r"/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-"]
REF_PUNCT += [">", "<", "@", "`", ",", "?", "!"]
REF_PERIOD_STRIP = re.compile(r"(?!<=\d)(\.)(?!\d)")  # sic: "(?!<=", not "(?<!"
REF_COMMA_STRIP = re.compile(r"(\d)(\,)(\d)")
REF_MANUAL_MAP = {"none": "0", "zero": "0", "one": "1", "two": "2", "three": "3"}
REF_MANUAL_MAP |= {"four": "4", "five": "5", "six": "6", "seven": "7"}
REF_MANUAL_MAP |= {"eight": "8", "nine": "9", "ten": "10"}
REF_ARTICLES = ["a", "an", "the"]


def ref_process_punctuation(in_text: str) -> str:
    out_text = in_text
    for p in REF_PUNCT:
        if (p + " " in in_text or " " + p in in_text) or (
            re.search(REF_COMMA_STRIP, in_text) is not None
        ):
            out_text = out_text.replace(p, "")
        else:
            out_text = out_text.replace(p, " ")
    # the reference passes re.UNICODE as the third positional argument: count
    return REF_PERIOD_STRIP.sub("", out_text, re.UNICODE)


def ref_process_digit_article(in_text: str) -> str:
    out = []
    for word in in_text.lower().split():
        word = REF_MANUAL_MAP.setdefault(word, word)
        if word not in REF_ARTICLES:
            out.append(word)
    for i, word in enumerate(out):
        if word in CONTRACTIONS:
            out[i] = CONTRACTIONS[word]
    return " ".join(out)


def ref_normalize(ans: str) -> str:
    ans = ans.replace("\n", " ").replace("\t", " ").strip()
    return ref_process_digit_article(ref_process_punctuation(ans))


# --- corpus -------------------------------------------------------------------------

TRICKY = [
    "1.4", "14", "1.40", ".5", "0.5.", "5.", "3.5 m", "y.e.s", "Yes.", "yes!", "YES",
    " yes ", "yes\n", "\tno", "no?", "no ?", "(yes)", "[no]", "{no}", '"yes"', "`yes`",
    "yes;no", "yes/no", "yes / no", "a-b", "a - b", "co-op", "e-mail", "-3", "+5",
    "x=1", "a_b", "<5", ">= 10", "@home", "back\\slash", "1,000", "1, 000", "1,000 m2",
    "more than 1,000", "between 10m2 and 100m2", "between 100 m2 and 1,000 m2",
    "10m2", "0m2", "two", "Two trees", "none", "None of them", "zero", "ten", "eleven",
    "twenty", "one hundred", "the", "a", "an apple", "The Tree", "the a an",
    "isnt", "dont", "Im", "im", "Ive", "cant", "wont", "it's", "its", "let's",
    "somebody'd", "oclock", "yall", "ow's'at", "50%", "ok :)", "yes:no", "U.S.",
    "u.s.a", "e.g.", "Mr. Smith", "3.14.15", "1..2", "...", "a.b.c.d.e", "rural",
    "urban.", "Rural!", "residential area", "commercial-area", "water,", "yes, no",
    "3,", ",3", "1,2,3", "4 , 5", "1.000,5", "no.!?", "?!", "!yes", "yes…", "’s",
    "café", "straße", "数字", "", "   ", ".", "-", "- -", "a.", ". a .",
    "." * 40 + "x", "y." * 40, "1.5" * 3, "ten.", "Ten!", "2 or 3", "two or three",
]  # fmt: skip

ALPHABET = list("ab1 2.,;:/-_()[]{}\"'`?!<>=+@\\\n\t") + [
    "the",
    "two",
    "none",
    "isnt",
    "an",
]


def random_answers(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [
        "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 14)))
        for _ in range(n)
    ]


@pytest.mark.parametrize("answer", TRICKY)
def test_tricky_answers_equal_official_rules(answer):
    assert normalize_answer(answer) == ref_normalize(answer)


def test_random_answers_equal_official_rules():
    for ans in random_answers(5000):
        assert normalize_answer(ans) == ref_normalize(ans), repr(ans)


def test_contraction_table_is_complete():
    assert len(CONTRACTIONS) == 120  # the reference's table has 120 entries
    assert CONTRACTIONS["isnt"] == "isn't" and CONTRACTIONS["somebody'd"] == "somebodyd"


def test_what_deleting_all_punctuation_got_wrong():
    # The former rule deleted every punctuation character: "1.4" == "14".
    assert normalize_answer("1.4") != normalize_answer("14")
    assert normalize_answer("1.4") == "1.4"
    # …while the official rule does strip periods that are not before a digit.
    assert normalize_answer("y.e.s") == "yes" == normalize_answer("Yes.")


def _write(tmp_path, truth: dict, pred: dict):
    t, p = tmp_path / "t.jsonl", tmp_path / "p.jsonl"
    t.write_text(
        "".join(
            json.dumps({"question_id": k, "answer": a}) + "\n" for k, a in truth.items()
        )
    )
    p.write_text(
        "".join(
            json.dumps({"question_id": k, "answer": a}) + "\n" for k, a in pred.items()
        )
    )
    return p, t


def test_kind_default_is_official_and_exact_is_an_option(tmp_path):
    truth = {"q1": "1.4", "q2": "yes", "q3": "2", "q4": "isn't", "q5": "1,000"}
    pred = {"q1": "14", "q2": "Yes.", "q3": "two", "q4": "isnt", "q5": "1000"}
    p, t = _write(tmp_path, truth, pred)
    out = api.score("vqa", p, t, {})
    assert out["answer_match"] == "vqa"
    want = [normalize_answer(pred[k]) == normalize_answer(truth[k]) for k in truth]
    assert want == [False, True, True, True, True]
    assert out["oa"] == pytest.approx(sum(want) / len(want))
    exact = api.score("vqa", p, t, {"answer_match": "exact"})
    assert exact["answer_match"] == "exact" and exact["oa"] == 0.0
    assert normalize_exact(" Yes ") == "yes"
    with pytest.raises(Exception, match="answer_match"):
        api.score("vqa", p, t, {"answer_match": "loose"})
