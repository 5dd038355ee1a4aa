"""A large, varied caption corpus for the PTB tokenizer conformance test:
plain remote-sensing captions mixed with unicode punctuation, quotes, dashes,
ellipses, emoji, possessives, contractions, hashtags, numbers with
separators, abbreviations, URLs, symbols and mixed scripts, joined with or
without spaces (adjacency is what a lexer gets wrong). Deterministic."""

from __future__ import annotations

import random

WORDS = (
    "a an the plane planes runway green trees building buildings river many is are "
    "parked near road roads cars white two large residential area beside some of "
    "and with in on at by dense sparse bare land farmland pond lake bridge port ship "
    "ships storage tanks stadium square church school park playground viaduct"
).split()

CATEGORIES: dict[str, list[str]] = {
    "punctuation": [
        ".",
        ",",
        ";",
        ":",
        "!",
        "?",
        "?!",
        "!!",
        "!?",
        "...",
        "....",
        ". . .",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "-",
        "--",
        "---",
        "----",
        "/",
        "=",
        "*",
        "**",
        "&",
        "%",
    ],
    "unicode_punct": [
        "…",
        "—",
        "–",
        "―",
        "‐",
        "‑",
        "¡",
        "¿",
        "·",
        "•",
        "、",
        "。",
        "‼",
        "⁇",
        "※",
    ],
    "quotes": [
        '"',
        "'",
        "“",
        "”",
        "‘",
        "’",
        "«",
        "»",
        "„",
        "‚",
        "‹",
        "›",
        "`",
        "``",
        "''",
        '"quoted"',
        "'quoted'",
        "“quoted”",
        "‘quoted’",
        "«quoted»",
    ],
    "emoji": ["😀", "🚀", "🌳", "👍🏽", "❤️", "✈️", "⭐", "☀", "🏙️", "🛰"],
    "possessives": [
        "plane's",
        "plane’s",
        "planes'",
        "boys’",
        "James's",
        "city's",
        "its",
        "it's",
    ],
    "contractions": [
        "isn't",
        "isn’t",
        "don't",
        "can't",
        "won't",
        "it’s",
        "they're",
        "we've",
        "I'm",
        "he'd",
        "you'll",
        "cannot",
        "Cannot",
        "gonna",
        "wanna",
        "gotta",
        "'tis",
        "'twas",
        "'90s",
        "o'clock",
        "y'all",
        "rock'n'roll",
        "ain't",
        "doesn’t",
        "shouldn't've",
        "don'ts",
        "'em",
        "'cause",
        "l'homme",
        "O'Neil",
    ],
    "hashtags": [
        "#tag",
        "#RemoteSensing",
        "#a1",
        "#123",
        "#_x",
        "@user",
        "@user_1",
        "#tag_two",
        "##",
        "#",
        "@",
        "@@",
        "_",
        "__",
        "#déjà",
    ],
    "numbers": [
        "1,000",
        "10,000,000",
        "3.5",
        "0.75",
        ".5",
        "1.000.000",
        "12:30",
        "3/4",
        "1 1/2",
        "½",
        "⅔",
        "2-3",
        "1990s",
        "50%",
        "$5",
        "US$5",
        "€10",
        "£3",
        "¥100",
        "¢5",
        "-3",
        "+4",
        "3x",
        "4th",
        "2nd",
        "10km",
        "30°",
        "1,5",
        "100m2",
        "#1",
        "555-1234",
        "(555) 123-4567",
        "12-12-2012",
        "2012-12-12",
        "1.2.3",
        "x²",
        "H₂O",
        "٣٤",
        "१२३",
    ],
    "mixed_scripts": [
        "中文",
        "字幕",
        "Ελληνικά",
        "русский",
        "العربية",
        "עברית",
        "हिन्दी",
        "日本語",
        "한국어",
        "café",
        "naïve",
        "straße",
        "façade",
        "Zoë",
        "ﬁeld",
        "ǅemal",
    ],
    "abbreviations": [
        "e.g.",
        "i.e.",
        "etc.",
        "U.S.",
        "u.s.",
        "Mr.",
        "Dr.",
        "St.",
        "a.m.",
        "p.m.",
        "vs.",
        "No.",
        "Jan.",
        "Calif.",
        "Inc.",
        "Ph.D.",
        "a.k.a.",
        "fig.",
    ],
    "emoticons": [
        ":)",
        ":-)",
        ";)",
        ":D",
        ":P",
        ":(",
        ":-(",
        "<3",
        ":o",
        ":O",
        ":]",
        ":'(",
        "XD",
        ":/",
        ":|",
        ":@",
        ":{",
        ":}",
        ">:(",
        ":-D",
        ";-)",
        ":p",
        "=D",
        "^_^",
        ":[",
        ":-[",
        ":*",
        "8)",
        "(:",
    ],
    "web_and_symbols": [
        "www.example.com",
        "http://x.org/a?b=c",
        "mail@x.com",
        "x/y",
        "a*b",
        "a&b",
        "AT&T",
        "R&D",
        "a_b",
        "snake_case",
        "co-operation",
        "well-known",
        "2-lane",
        "10-year-old",
        "e-mail",
        "a+b",
        "a=b",
        "<b>",
        "<",
        ">",
        "<<",
        "~",
        "^",
        "|",
        "\\",
        "§",
        "©",
        "®",
        "™",
        "°",
        "±",
        "×",
        "÷",
        "‰",
        "′",
        "″",
        "→",
        "∞",
        "≈",
        "&amp;",
        "&quot;",
        "&lt;",
    ],
}

SPACES = [" "] * 16 + ["", "", "", "  ", "\t", "\u00a0", "\u2009", "\u3000", "\u200b"]


def captions(n: int = 3000, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    names = sorted(CATEGORIES)
    out = []
    for k in range(n):
        focus = names[k % len(names)]  # every category gets its share
        parts = []
        for _ in range(rng.randint(3, 14)):
            r = rng.random()
            if r < 0.55:
                w = rng.choice(WORDS)
            elif r < 0.85:
                w = rng.choice(CATEGORIES[focus])
            else:
                w = rng.choice(CATEGORIES[rng.choice(names)])
            if rng.random() < 0.08:
                w = w.capitalize()
            elif rng.random() < 0.03:
                w = w.upper()
            parts.append(w)
            parts.append(rng.choice(SPACES))
        out.append("".join(parts).strip())
    return [c for c in out if c]


FUZZ_ALPHABET = (
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") * 3
    + [" "] * 30
    + list(".,;:!?'\"`-_/\\()[]{}<>@#$%&*+=~^|")
    + list("“”‘’…—–«»€£½°×中é😀\u00a0")
)


def random_strings(n: int = 3000, seed: int = 0) -> list[str]:
    """Strings of random characters (letters, digits, spaces, ASCII and common
    unicode punctuation): every pair of rules gets to meet."""
    rng = random.Random(seed)
    return [
        "".join(rng.choice(FUZZ_ALPHABET) for _ in range(rng.randint(1, 40)))
        for _ in range(n)
    ]
