"""VQA answer normalisation (the rule published in the vqa card).

Open-ended answers, ``answer_match: vqa`` (default): the official VQA
evaluation's normalisation (``vqaEval.py`` of the VQA challenge,
``processPunctuation`` then ``processDigitArticle``), applied to the prediction
*and* the truth answer:

1. ``\\n`` and ``\\t`` → space, strip surrounding white space;
2. punctuation — for each of ``; / [ ] " { } ( ) = + \\ _ - > < @ ` , ? !`` in
   turn: deleted if the *original* answer has it next to a space (``"p "`` or
   ``" p"``) or the answer contains a digit-comma-digit (``1,000``), else
   replaced by a space;
3. periods: a ``.`` not followed by a digit is deleted (at most 32 of them —
   the reference passes ``re.UNICODE`` as ``count``), so ``1.4`` keeps its
   period (≠ ``14``) while ``y.e.s`` → ``yes``; apostrophes and colons are kept;
4. lowercase, split on white space; number words ``none``/``zero``..``ten`` →
   digits (``none`` → ``0``); articles ``a``/``an``/``the`` dropped;
   contraction spellings without apostrophe restored (``isnt`` → ``isn't``);
5. join with single spaces.

``answer_match: exact``: surrounding white space stripped, case-insensitive,
nothing else (closed vocabularies where "1.4" and "14" must differ and
punctuation is meaningful).

Multiple-choice answers compare the option letter: strip, drop surrounding
brackets and a trailing ``.``/``)``, uppercase.
"""

from __future__ import annotations

import re

ARTICLES = frozenset({"a", "an", "the"})
NUMBER_WORDS = {"none": "0"} | {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten".split()
    )
}
PUNCT = (";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-")
PUNCT += (">", "<", "@", "`", ",", "?", "!")
_DIGIT_COMMA = re.compile(r"\d,\d")
_PERIOD = re.compile(r"\.(?!\d)")
_MAX_PERIODS = 32  # re.UNICODE passed as ``count`` in the reference

# The reference's contraction table (spelling without apostrophe → with).
_CONTRACTION_PAIRS = """
aint ain't|arent aren't|cant can't|couldve could've|couldnt couldn't
couldn'tve couldn't've|couldnt've couldn't've|didnt didn't|doesnt doesn't
dont don't|hadnt hadn't|hadnt've hadn't've|hadn'tve hadn't've|hasnt hasn't
havent haven't|hed he'd|hed've he'd've|he'dve he'd've|hes he's|howd how'd
howll how'll|hows how's|Id've I'd've|I'dve I'd've|Im I'm|Ive I've|isnt isn't
itd it'd|itd've it'd've|it'dve it'd've|itll it'll|let's let's|maam ma'am
mightnt mightn't|mightnt've mightn't've|mightn'tve mightn't've
mightve might've|mustnt mustn't|mustve must've|neednt needn't|notve not've
oclock o'clock|oughtnt oughtn't|ow's'at 'ow's'at|'ows'at 'ow's'at
'ow'sat 'ow's'at|shant shan't|shed've she'd've|she'dve she'd've|she's she's
shouldve should've|shouldnt shouldn't|shouldnt've shouldn't've
shouldn'tve shouldn't've|somebody'd somebodyd|somebodyd've somebody'd've
somebody'dve somebody'd've|somebodyll somebody'll|somebodys somebody's
someoned someone'd|someoned've someone'd've|someone'dve someone'd've
someonell someone'll|someones someone's|somethingd something'd
somethingd've something'd've|something'dve something'd've
somethingll something'll|thats that's|thered there'd|thered've there'd've
there'dve there'd've|therere there're|theres there's|theyd they'd
theyd've they'd've|they'dve they'd've|theyll they'll|theyre they're
theyve they've|twas 'twas|wasnt wasn't|wed've we'd've|we'dve we'd've
weve we've|werent weren't|whatll what'll|whatre what're|whats what's
whatve what've|whens when's|whered where'd|wheres where's|whereve where've
whod who'd|whod've who'd've|who'dve who'd've|wholl who'll|whos who's
whove who've|whyll why'll|whyre why're|whys why's|wont won't
wouldve would've|wouldnt wouldn't|wouldnt've wouldn't've
wouldn'tve wouldn't've|yall y'all|yall'll y'all'll|y'allll y'all'll
yall'd've y'all'd've|y'alld've y'all'd've|y'all'dve y'all'd've|youd you'd
youd've you'd've|you'dve you'd've|youll you'll|youre you're|youve you've
"""
CONTRACTIONS = dict(
    pair.split() for pair in _CONTRACTION_PAIRS.replace("\n", "|").split("|") if pair
)


def _punctuation(text: str) -> str:
    glue = _DIGIT_COMMA.search(text) is not None
    out = text
    for p in PUNCT:
        out = out.replace(p, "" if glue or p + " " in text or " " + p in text else " ")
    return _PERIOD.sub("", out, count=_MAX_PERIODS)


def normalize_answer(text: str) -> str:
    """Open-ended answer, official VQA normalisation (module docstring)."""
    text = _punctuation(text.replace("\n", " ").replace("\t", " ").strip())
    words = [NUMBER_WORDS.get(w, w) for w in text.lower().split()]
    return " ".join(CONTRACTIONS.get(w, w) for w in words if w not in ARTICLES)


def normalize_exact(text: str) -> str:
    """``answer_match: exact``: strip and lowercase only."""
    return text.strip().lower()


def normalize_choice(text: str) -> str:
    """Multiple-choice option letter, case-insensitive: ``(b).`` -> ``B``."""
    t = text.strip().rstrip(".)").lstrip("(").strip()
    return t.upper()
