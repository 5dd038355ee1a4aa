"""VQA answer normalisation (the rule published in the vqa card).

1. lowercase and strip surrounding white space;
2. delete punctuation (every character in Python's ``string.punctuation``);
3. split on white space and drop the articles ``a``, ``an``, ``the``;
4. map number words to digits: zero..twenty, thirty, forty, ..., ninety,
   hundred, thousand (word by word: "twenty one" -> "20 1" is *not* merged);
5. join the words with single spaces.

Multiple-choice answers compare the option letter: strip, drop surrounding
brackets and a trailing ``.``/``)``, uppercase.
"""

from __future__ import annotations

import string

_PUNCT = str.maketrans("", "", string.punctuation)
ARTICLES = frozenset({"a", "an", "the"})
_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen twenty"
).split()
NUMBER_WORDS = {w: str(i) for i, w in enumerate(_UNITS)}
NUMBER_WORDS |= {
    w: str(10 * i)
    for i, w in enumerate("thirty forty fifty sixty seventy eighty ninety".split(), 3)
}
NUMBER_WORDS |= {"hundred": "100", "thousand": "1000"}


def normalize_answer(text: str) -> str:
    """Open-ended answer in canonical form (see module docstring)."""
    words = text.lower().strip().translate(_PUNCT).split()
    return " ".join(NUMBER_WORDS.get(w, w) for w in words if w not in ARTICLES)


def normalize_choice(text: str) -> str:
    """Multiple-choice option letter, case-insensitive: ``(b).`` -> ``B``."""
    t = text.strip().rstrip(".)").lstrip("(").strip()
    return t.upper()
