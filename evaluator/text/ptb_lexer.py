"""A Python re-implementation of the PTB tokenizer that pycocoevalcap runs
(Stanford CoreNLP 3.4.1 ``PTBTokenizer -preserveLines -lowerCase``), used when no
Java runtime is available.

CoreNLP's tokenizer is a JFlex lexer: at each position every rule is tried, the
longest match wins (a rule's trailing context ``r1/r2`` counts towards the
length, then ``r2`` is given back), and the earlier rule wins a tie. This module
follows that scheme with a table of rules written from the lexer's
documented grammar and checked against the jar (see
``tests/evaluator/test_ptb_conformance.py`` for what is covered). Output
normalisations of the default ``ptb3Escaping`` options are applied: brackets →
``-LRB-`` etc., quotes → LaTeX quotes, ellipses → ``...``, dashes → ``--``,
currency (€ → ``$``, £ → ``#``, ¢ → ``cents``), fractions (½ → ``1/2``), spaces
inside phone numbers / fractions → U+00A0; characters the lexer does not know
(emoji, other symbols outside its classes) are deleted. Tokens are lowercased.
"""

from __future__ import annotations

import re


def _char_class(pred) -> str:
    """Regex class body of the BMP characters satisfying ``pred``."""
    out, start, prev = [], None, None
    for cp in range(0x10000):
        if 0xD800 <= cp <= 0xDFFF:
            ok = False
        else:
            ok = pred(chr(cp))
        if ok and start is None:
            start = cp
        if not ok and start is not None:
            out.append((start, prev))
            start = None
        prev = cp
    if start is not None:
        out.append((start, 0xFFFF))
    return "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in out
    )


_L = _char_class(str.isalpha)  # JFlex [:letter:] (Java Character.isLetter, BMP)
_D = _char_class(str.isdecimal) + "\u07c0-\u07c9"  # [:digit:] + NKo digits
LETTER = (
    f"(?:[{_L}\u00ad\u0237-\u024f\u02c2-\u02c5\u02d2-\u02df\u02e5-\u02ff"
    "\u0300-\u036f\u0370-\u037d\u0384\u0385\u03cf\u03f6\u03fc-\u03ff\u0483-\u0487"
    "\u04cf\u04f6-\u04ff\u0510-\u0525\u055a-\u055f\u0591-\u05bd\u05bf\u05c1\u05c2"
    "\u05c4\u05c5\u05c7\u0615-\u061a\u063b-\u063f\u064b-\u065e\u0670\u06d6-\u06ef"
    "\u06fa-\u06ff\u070f\u0711\u0730-\u074f\u0750-\u077f\u07a6-\u07b1\u07ca-\u07f5"
    "\u07fa\u0900-\u0903\u093c\u093e-\u094e\u0951-\u0955\u0962-\u0963\u0981-\u0983"
    "\u09bc-\u09c4\u09c7\u09c8\u09cb-\u09cd\u09d7\u09e2\u09e3\u0a01-\u0a03\u0a3c"
    "\u0a3e-\u0a4f\u0a81-\u0a83\u0abc-\u0acf\u0b82\u0bbe-\u0bc2\u0bc6-\u0bc8"
    "\u0bca-\u0bcd\u0c01-\u0c03\u0c3e-\u0c56\u0d3e-\u0d44\u0d46-\u0d48\u0e30-\u0e3a"
    "\u0e47-\u0e4e\u0eb1-\u0ebc\u0ec8-\u0ecd]|&[aeiouAEIOU](?i:acute|grave|uml);)"
)
DIGIT = f"[{_D}]"
LD = f"(?:{LETTER}|{DIGIT})"
SPACE = "[ \t\u00a0\u2000-\u200a\u3000]"
NEWLINE = "(?:\r\n|[\r\n\u2028\u2029\x0b\x0c\x85])"
SPACENL = f"(?:{SPACE}|{NEWLINE})"
_NAME = r"[A-Za-z][A-Za-z0-9_:.\-]*"
SGML = (
    rf"<(?:[!?][A-Za-z\-][^>\r\n]*|{_NAME}(?:[ ]+(?:{_NAME}[ ]*=[ ]*(?:'[^'\r\n]*'"
    rf"|\"[^\"\r\n]*\"|{_NAME})|{_NAME}))*[ ]*/?|/{_NAME})[ ]*>"
)
SENTEND = f"{SPACENL}(?:{SPACENL}|[A-Z]|{SGML})"
NUM = f"(?:{DIGIT}*(?:[.:,\u00ad\u066b\u066c]{DIGIT}+)+|{DIGIT}+)"
NUMBER = f"[-+]?{NUM}"
APOS = "(?:['\u0092\u2019]|&apos;)"
APOSETC = f"(?:{APOS}|[`\u0091\u2018\u201b])"
WORD = f"{LETTER}(?:{LETTER}|{DIGIT})*(?:[.!?]{LETTER}(?:{LETTER}|{DIGIT})*)*"
REDAUX = f"{APOS}(?:[msdMSD]|(?i:re|ve|ll))"
SWORD = "[A-Za-z\u00ad]*[A-MO-Za-mo-z]\u00ad*"
SREDAUX = f"(?i:n){APOSETC}(?i:t)"
HYPHEN = "[-_\u058a\u2010\u2011]"
ACRO = r"(?:[A-Za-z](?:\.[A-Za-z])+|(?i:canada|sino|korean|eu|japan|non)-(?i:u\.s)|(?i:u\.s\.-)(?i:u\.k|u\.s\.s\.r))"
ALNUM = f"[{_L}{_D}]"  # [:letter:]|[:digit:] (no combining marks)
THING = (
    f"(?:[dDoOlL]{APOSETC}{ALNUM})?{ALNUM}+"
    f"(?:{HYPHEN}(?:[dDoOlL]{APOSETC}{ALNUM})?{ALNUM}+)*"
)
HTHING = rf"[A-Za-z0-9][A-Za-z0-9.,\u00ad]*(?:-(?:{ACRO}\.|[A-Za-z0-9\u00ad]+))+"
INSENTP = "[,;:\u3001]"
MONTH = "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
DAYS = "mon|tue|tues|wed|thu|thurs|fri"
STATE = (
    "(?i:ala|ariz)|[A](?i:rk)|(?i:calif|colo|conn|ct|dak|del|fla|ga)|[I](?i:ll)|"
    "(?i:ind|kans?|ky|la)|[M](?i:ass)|(?i:md|mich|minn)|[M](?i:iss)|"
    "(?i:mo|mont|neb|nev|okla)|[O](?i:re)|(?i:pa|penn|tenn|tex|va|vt)|"
    "[W](?i:ash)|(?i:wisc?|wyo)"
)
ABCOMP = "inc|cos?|corp|pp?tys?|ltd|plc|bancorp|dept|bhd|assn|univ|intl|sys"
ABBREV1 = (
    f"(?:(?i:{MONTH}|{DAYS}|{ABCOMP}|tel|est|ext|sq|jr|sr|bros|(?:ed|ph)\\.d|blvd|rd|esq|"
    f"etc|al|seq)|{STATE})\\."
)
ABTITLE = (
    "mr|mrs|ms|drs?|profs?|sens?|reps?|attys?|lt|col|gen|messrs|govs?|adm|rev|maj|"
    "sgt|cpl|pvt|mt|capt|ste?|ave|pres|lieut|hon|brig|co?mdr|pfc|spc|supts?|det"
)
# longest alternatives first: Python's alternation takes the first that fits
ABBREV4 = (
    f"(?:{ACRO}|(?i:a\\.k\\.a)|(?i:{ABTITLE})|[M](?i:iss)|(?i:vs|alex|wm|jos|cie|cf|treas|ph)|"
    "(?i:invt|elec|natl|m[ft]g)|[A-Za-z])"
)
ACRONYM_NEXT = (
    "[A]bout|[A]ccording|[A]dditionally|[A]fter|[A]n|[A]|[A]s|[A]t|[B]ut|[E]arlier|"
    "[H]e|[H]er|[H]ere|[H]owever|[I]f|[I]n|[I]t|[L]ast|[M]any|[M]ore|[M]r\\.|[M]s\\.|"
    "[N]ow|[O]nce|[O]ne|[O]ther|[O]ur|[S]he|[S]ince|[S]o|[S]ome|[S]uch|[T]hat|[T]he|"
    "[T]hen|[T]here|[T]hese|[T]hey|[T]his|[W]e|[W]hen|[W]hile|[W]hat|[Y]et|[Y]ou"
)
PHONE = (
    r"(?:(?:\([0-9]{2,3}\)[ \u00a0]?|(?:\+\+?)?(?:[0-9]{2,4}[- \u00a0])?[0-9]{2,4}[- \u00a0])"
    r"[0-9]{3,4}[- \u00a0]?[0-9]{3,5}|(?:(?:\+\+?)?[0-9]{2,4}\.)?[0-9]{2,4}\.[0-9]{3,4}\.[0-9]{3,5})"
)
MISC = (
    "[+%&~^|\\\\\u00a6\u00a7\u00a8\u00a9\u00ac\u00ae\u00af\u00b0-\u00b3\u00b4-\u00ba"
    "\u00d7\u00f7\u0387\u05be\u05c0\u05c3\u05c6\u05f3\u05f4\u0600-\u0603\u0606-\u060a"
    "\u060c\u0614\u061b\u061e\u066a\u066d\u0703-\u070d\u07f6\u07f7\u07f8\u0964\u0965"
    "\u0e4f\u1fbd\u2016\u2017\u2020-\u2023\u2030-\u2038\u203b\u203e-\u2042\u2044"
    "\u207a-\u207f\u208a-\u208e\u2100-\u214f\u2190-\u21ff\u2200-\u2bff\u3012\u30fb"
    "\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]"
)
_NOSP = "\u00a0\u2000-\u200b\u3000"  # not inside a LIKELYURL (FULLURL keeps them)
FILE_EXT = (
    "bat|bmp|bz2|c|class|cgi|cpp|dll|doc|docx|exe|gif|gz|h|htm|html|jar|java|jpeg|jpg|"
    "mov|mp3|pdf|php|pl|png|ppt|ps|py|sql|tar|txt|wav|x|xml|zip|wm[va]|avi|flv|mp[34g]"
)
# (letter-initial names are WORDs: "jan.x" stays "jan. x" as the jar has it)
FILENAME = f"{DIGIT}[{_L}{_D}]*(?:\\.[{_L}{_D}]+)*\\.(?i:{FILE_EXT})"
SMILEY = r"[<>]?[:;=][-o*']?[()DPdpO\\{@|\[\]]"
URLCHARS = '[^ \t\n\f\r"<>|()]'

# Actions
KEEP, SKIP, DELETE = "keep", "skip", "delete"

# (name, [(main, trailing context or None), ...], action). Order = priority.
RULES: list[tuple[str, list[tuple[str, str | None]], str]] = [
    ("cannot", [("(?i:can)", "(?i:not)")], KEEP),
    ("abbrev1_glued", [(ABBREV1, f"[{_L}]")], KEEP),  # "etc.a" -> etc. a
    (
        "assimilation",  # split as the jar does: gon|na, got|ta, wan|na, lem|me, gim|me
        [
            ("(?i:gon)", "(?i:na)"),
            ("(?i:got)", "(?i:ta)"),
            ("(?i:wan)", "(?i:na)"),
            ("(?i:lem)", "(?i:me)"),
            ("(?i:gim)", "(?i:me)"),
        ],
        KEEP,
    ),
    ("sgml", [(SGML, None)], "sgml"),
    (
        "spmdash",
        [("&(?:MD|mdash|ndash);|[\u0096\u0097\u2013\u2014\u2015]", None)],
        "dash",
    ),
    ("spamp", [("(?i:&amp;)", None)], "amp"),
    ("sppunc", [("&(?i:HT|TL|UR|LR|QC|QL|QR|odq|cdq|#[0-9]+);", None)], KEEP),
    ("word_redaux", [(WORD, REDAUX)], KEEP),
    ("sword_sredaux", [(SWORD, SREDAUX)], KEEP),
    ("word", [(WORD, None)], KEEP),
    (
        "apoword",
        [
            (f"{APOS}(?i:n){APOS}?", None),
            (f"[lLdDjJ]{APOS}", None),
            (f"(?i:dunkin|somethin|ol){APOS}", None),
            (f"{APOS}(?i:em)", None),
            (f"[A-HJ-XZn]{APOSETC}[{_L}]{{2}}[{_L}]*", None),
            (f"{APOS}[2-9]0(?i:s)", None),
            (f"{APOS}(?i:till?)", None),
            (f"[{_L}]+[aeiouyAEIOUY]{APOSETC}[aeiouA-Z][{_L}]*", None),
            (f"{APOS}(?i:cause)", None),
            ("(?i:cont'd)\\.?", None),
            ("(?i:nor'easter|c'mon|e'er|s'mores|ev'ry|li'l|nat'l)", None),
            (f"{APOS}(?i:t)", "(?i:is|was)"),
        ],
        KEEP,
    ),
    ("apoword2", [(f"(?i:y){APOS}", f"[{_L}]")], KEEP),
    (
        "fullurl",
        [(f'(?i:https?)://{URLCHARS}+[^ \t\n\f\r"<>|.!?(){{}},-]', None)],
        KEEP,
    ),
    (
        "likelyurl",
        [
            (
                r"(?:(?i:www)\.(?:[^ \t\n\f\r\"<>|.!?(){},]+\.)+[a-zA-Z]{2,4}"
                rf"|(?:[^ \t\n\f\r\"`'<>|.!?(){{}},-_$]+\.)+(?i:com|net|org|edu))"
                rf"(?:/{URLCHARS}+[^ \t\n\f\r\"<>|.!?(){{}},-])?",
                None,
            )
        ],
        KEEP,
    ),
    (
        "email",
        [
            (
                '(?:(?i:&lt;)|<)?[a-zA-Z0-9][^ \t\n\f\r"<>|(){}\u00a0]*@'
                '(?:[^ \t\n\f\r"<>|(){}.\u00a0]+\\.)*[^ \t\n\f\r"<>|(){}.\u00a0]+'
                "(?:(?i:&gt;)|>)?",
                None,
            )
        ],
        KEEP,
    ),
    ("twitter", [("@[a-zA-Z_][a-zA-Z_0-9]*", None), (f"#{LETTER}+", None)], KEEP),
    ("redaux_ctx", [(REDAUX, "[^A-Za-z]")], "rquote"),
    ("sredaux", [(SREDAUX, None)], "rquote"),
    ("date", [(f"{DIGIT}{{1,2}}[-/]{DIGIT}{{1,2}}[-/]{DIGIT}{{2,4}}", None)], KEEP),
    ("number", [(NUMBER, None)], KEEP),
    ("filename", [(FILENAME, SPACENL)], KEEP),
    (
        "subsupnum",
        [
            (
                "[\u207a\u207b\u208a\u208b]?(?:[\u2070\u00b9\u00b2\u00b3\u2074-\u2079]+"
                "|[\u2080-\u2089]+)",
                None,
            )
        ],
        KEEP,
    ),
    (
        "frac",
        [
            (
                f"(?:{DIGIT}{{1,4}}[- \u00a0])?{DIGIT}{{1,4}}(?:\\\\?/|\u2044){DIGIT}{{1,4}}",
                None,
            )
        ],
        "space",
    ),
    ("frac2", [("[\u00bc\u00bd\u00be\u2153-\u215e]", None)], "frac2"),
    (
        "tbspec",
        [
            (
                "-(?:RRB|LRB|RCB|LCB|RSB|LSB)-|C\\.D\\.s|(?i:pro|anti)-|"
                f"(?i:S(?:&|&amp;)P-500|S(?:&|&amp;)Ls|cap{APOS}n|c{APOS}est)",
                None,
            )
        ],
        "amp",
    ),
    (
        "thing3",
        [
            (
                r"[A-Za-z0-9]+(?:-[A-Za-z]+){0,2}(?:\\?/[A-Za-z0-9]+(?:-[A-Za-z]+){0,2}){1,2}",
                None,
            )
        ],
        KEEP,
    ),
    ("sharp", [("(?i:c#|f#)", None)], KEEP),  # the languages C# and F#
    ("dolsign", [(r"[A-Z]*\$|#", None)], KEEP),
    (
        "dolsign2",
        [
            (
                "[\u00a2\u00a3\u00a4\u00a5\u0080\u20a0\u20ac\u060b\u0e3f\u20a4\uffe0\uffe1\uffe5\uffe6]",
                None,
            )
        ],
        "currency",
    ),
    (
        "acronym_sent",  # "U.S. He" -> u.s. . he; a 2-character one: "n. A" -> n . a
        [(f"(?:{ACRO}|[A-Za-z])\\.", f"{SPACE}+(?:{ACRONYM_NEXT}){SPACENL}")],
        "acronym",
    ),
    ("abbrev1_sent", [(ABBREV1, SENTEND)], "redup"),
    ("abbrev1", [(ABBREV1, None)], KEEP),
    (
        "abbrev3",  # only before a number (the next line's, too)
        [("(?i:ca|figs?|prop|nos?|art|bldg|pp|op|ft)\\.", f"{SPACENL}?{DIGIT}")],
        KEEP,
    ),
    ("abbrev2", [(f"{ABBREV4}\\.", None)], KEEP),
    ("abbrev4", [(ABBREV4, SPACE)], KEEP),
    ("acro", [(ACRO, SPACENL)], KEEP),
    ("tbspec2", [(f"{APOS}[0-9][0-9]", SPACENL)], KEEP),
    ("word_dot", [(f"{WORD}\\.", INSENTP)], KEEP),
    ("phone", [(PHONE, None)], "phone"),
    ("dblquot_left", [('"|(?i:&quot;)', "[A-Za-z0-9$]")], "lquote"),
    ("dblquot", [('"|(?i:&quot;)', None)], "rquote"),
    ("lsb", [(r"\[", None)], "-LSB-"),
    ("rsb", [(r"\]", None)], "-RSB-"),
    ("lcb", [(r"\{", None)], "-LCB-"),
    ("rcb", [(r"\}", None)], "-RCB-"),
    ("lrb", [(r"\(", None)], "-LRB-"),
    ("rrb", [(r"\)", None)], "-RRB-"),
    ("hyphens", [(r"-+", None)], "hyphens"),
    (
        "ldots",
        [
            (r"\.{3,5}", None),
            ("(?:\\.[ \u00a0]){2,4}\\.", None),
            ("[\u0085\u2026]", None),
        ],
        "...",
    ),
    ("fnmarks", [("@+", None), ("#+", None), ("_+", None)], KEEP),
    ("asts", [(r"\*+|(?:\\\*){1,3}", None)], KEEP),
    ("smiley", [(SMILEY, "[^A-Za-z0-9]")], "smiley"),
    ("insentp", [(INSENTP, None)], KEEP),
    ("qe", [("[?!]+", None)], KEEP),
    (
        "period",
        [("[.\u00a1\u00bf\u037e\u0589\u061f\u06d4\u0700-\u0702\u07fa\u3002]", None)],
        KEEP,
    ),
    ("eq", [("=", None)], KEEP),
    ("slash", [("/", None)], KEEP),
    ("hthing_dot", [(f"{HTHING}\\.", INSENTP)], KEEP),
    ("hthing", [(HTHING, None)], KEEP),
    ("thing_dot", [(f"{THING}\\.", INSENTP)], KEEP),
    ("thing", [(THING, None)], KEEP),
    ("asian_smiley", [("[-^x=~<>']_[-^x=~<>']", None)], KEEP),
    ("thinga", [(r"[A-Z]+(?:(?:[+&]|(?i:&amp;))[A-Z]+)+", None)], "amp"),
    ("squote_left", [("'", "[A-Za-z][^ \t\n\r\u00a0]")], "lquote"),
    ("redaux", [(REDAUX, None)], "rquote"),
    (
        "quotes",
        [
            (APOS, None),
            ("''", None),
            (
                "[`\u2018\u2019\u201a\u201b\u201c\u201d\u0091\u0092\u0093\u0094\u201e\u201f"
                "\u2039\u203a\u00ab\u00bb]{1,2}",
                None,
            ),
        ],
        "rquote",
    ),
    ("duckfeet", [("<<|>>", None)], KEEP),
    ("lt", [("<|(?i:&lt;)", None)], "<"),
    ("gt", [(">|(?i:&gt;)", None)], ">"),
    ("misc", [(MISC, None)], KEEP),
    ("spaces", [(f"\x00|{SPACE}+|[\u200b\u200e\u200f\ufeff]", None)], SKIP),
    ("newline", [(NEWLINE, None)], SKIP),
    ("nbsp", [("(?i:&nbsp;)", None)], SKIP),
    ("other", [("(?s:.)", None)], DELETE),
]

_COMPILED = [
    (
        name,
        [
            re.compile(f"(?P<t>{main})" + (f"(?:{trail})" if trail else ""))
            for main, trail in alts
        ],
        action,
    )
    for name, alts, action in RULES
]


def _latex_quotes(tok: str, left: bool) -> str:
    if left:
        tok = re.sub("&apos;|'", "`", tok)
        tok = re.sub('"|&quot;', "``", tok)
    else:
        tok = re.sub("&apos;|'", "'", tok)
        tok = re.sub('"|&quot;', "''", tok)
    tok = re.sub("[\u0091\u2018\u201b\u2039]", "`", tok)
    tok = re.sub("[\u0092\u2019\u203a]", "'", tok)
    tok = re.sub("[\u0093\u201c\u00ab]", "``", tok)
    return re.sub("[\u0094\u201d\u00bb]", "''", tok)


_FRACTIONS = {
    "\u00bc": "1/4",
    "\u00bd": "1/2",
    "\u00be": "3/4",
    "\u2153": "1/3",
    "\u2154": "2/3",
}


def _emit(action: str, tok: str) -> str | None:
    if action == "acronym":
        return tok[:-1] if len(tok) == 2 else tok
    if action in (KEEP, "redup"):
        return tok.replace("\u00ad", "") or "-"
    if action == "sgml" or action == "space":
        return tok.replace(" ", "\u00a0")
    if action == "dash":
        return "--"
    if action == "amp":
        return re.sub("(?i:&amp;)", "&", tok)
    if action == "rquote":
        return _latex_quotes(tok, False)
    if action == "lquote":
        return _latex_quotes(tok, True)
    if action == "frac2":
        return _FRACTIONS.get(tok, tok)
    if action == "currency":
        tok = tok.replace("\u00a2", "cents").replace("\u00a3", "#")
        return re.sub("[\u0080\u00a4\u20a0\u20ac]", "$", tok)
    if action == "smiley":
        return tok.replace("(", "-LRB-").replace(")", "-RRB-")
    if action == "phone":
        return tok.replace(" ", "\u00a0").replace("(", "-LRB-").replace(")", "-RRB-")
    if action == "hyphens":
        return "--" if 3 <= len(tok) <= 4 else tok
    if action in (SKIP, DELETE):
        return None
    return action  # a fixed replacement (brackets, "...")


def lex(text: str) -> list[tuple[int, str]]:
    """(start offset, token) of the PTB tokens of ``text`` (not lowercased)."""
    out, pos, n = [], 0, len(text)
    while pos < n:
        best = None  # (total length incl. trailing context, token, action)
        for _name, alts, action in _COMPILED:
            for rx in alts:
                m = rx.match(text, pos)
                if m is not None and m.end() > pos:
                    if best is None or m.end() - pos > best[0]:
                        best = (m.end() - pos, m.group("t"), action)
        _, tok, action = best
        piece = _emit(action, tok)
        if piece is not None:
            out.append((pos, piece))
        # trailing context is read again; "redup" also re-reads the final period
        pos += len(tok) - 1 if action in ("redup", "acronym") else len(tok)
    return out


def ptb_lines(lines: list[str]) -> list[list[str]]:
    """Lowercased tokens of each line, lexed as the jar reads its input file:
    one text, lines joined by "\\n" (a line's last token can depend on the
    next line, e.g. "etc." before a capitalised line)."""
    text = "\n".join(lines)
    ends, acc = [], -1
    for line in lines:
        acc += len(line) + 1
        ends.append(acc)  # offset of the "\n" that ends each line
    out: list[list[str]] = [[] for _ in lines]
    k = 0
    for pos, tok in lex(text):
        while pos > ends[k]:
            k += 1
        out[k].append(tok.lower())
    return out
