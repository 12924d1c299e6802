"""Undo common text obfuscation while keeping a map back to the original characters.

People dodge filters by writing "w0m3n", "w o m e n", "women" with a Cyrillic "o", fullwidth
letters or invisible characters. `normalize` undoes these tricks so the model sees ordinary
words, and records for every output character the index of the original character it came from,
so that spans found on the normalised text can be reported on the text the user wrote.

The steps run in order: Unicode (NFKC, invisible characters, accents on Latin letters),
homoglyphs, leetspeak, spaced-out letters, repeated characters. URLs, e-mail addresses and
@mentions are left alone by every step after the first. Case and whitespace are never changed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import regex

# One output character and the index of the original character it came from.
_Chars = list[tuple[str, int]]


@dataclass(frozen=True)
class Normalized:
    """Normalised text with, for each of its characters, where it came from in the original."""

    text: str
    # len(text) + 1 non-decreasing entries; the last one is len(original).
    origins: tuple[int, ...]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a range of the normalised text to the smallest original range covering it.

        Args:
            start: First character of the range in ``text``.
            end: One past the last character of the range in ``text``.

        Returns:
            ``(start, end)`` in the original text, end exclusive; non-empty when ``start < end``.

        Raises:
            ValueError: If the range is not ``0 <= start <= end <= len(text)``.
        """
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(
                f"Expected 0 <= start <= end <= {len(self.text)} (the normalised text's length), "
                f"got start={start}, end={end}."
            )
        if start == end:
            return self.origins[start], self.origins[start]
        return self.origins[start], self.origins[end - 1] + 1


# Plain ASCII text can only change through leetspeak, spaced-out letters or repeats; each
# pattern below is a superset of what triggers one of those steps. Text matching none of them
# (most messages) is returned as it is, without the character-by-character pipeline.
_MAY_CHANGE_ASCII = re.compile(
    r"[A-Za-z]\S*[0134578@$]|[0134578@$]\S*[A-Za-z]"  # leet digits and symbols in a word
    r"|[A-Za-z][!|][A-Za-z]"  # "b!tch", "s|ut"
    r"|(?<![A-Za-z0-9])[A-Za-z][ ._-][A-Za-z][ ._-][A-Za-z](?![A-Za-z0-9])"  # "w h o"
    r"|([A-Za-z])(?i:\1\1)"  # "biiitch"
    r"|([^A-Za-z0-9\s])\2\2\2"  # "!!!!"
)


def normalize(text: str) -> Normalized:
    """Normalise obfuscated text, tracking where each output character came from.

    Args:
        text: The original text.

    Returns:
        The normalised text and its map back to ``text``.
    """
    if text.isascii() and _MAY_CHANGE_ASCII.search(text) is None:
        return Normalized(text=text, origins=tuple(range(len(text) + 1)))
    return _normalize_fully(text)


def _normalize_fully(text: str) -> Normalized:
    chars = _unicode(text)
    for step in (_homoglyphs, _leet, _spaced_letters, _repeats):
        chars = step(chars)
    return Normalized(
        text="".join(c for c, _ in chars),
        origins=(*(origin for _, origin in chars), len(text)),
    )


def normalize_many(texts: Sequence[str]) -> list[Normalized]:
    """Normalise several texts.

    Args:
        texts: The original texts.

    Returns:
        One `Normalized` per text, in order.
    """
    return [normalize(text) for text in texts]


# --- 1. Unicode -------------------------------------------------------------------------------

_ALWAYS_DROPPED = frozenset("\u200b\u2060\ufeff\u00ad")
# Zero-width (non-)joiners are meaningful in emoji sequences and in Persian or Indic scripts, so
# they are only dropped when they touch a Latin letter, ASCII or whitespace.
_JOINERS = frozenset("\u200c\u200d")
_LATIN = regex.compile(r"\p{Script=Latin}")


@lru_cache(maxsize=4096)
def _is_latin_letter(c: str) -> bool:
    return c.isalpha() and _LATIN.match(c) is not None


def _is_mark(c: str) -> bool:
    return unicodedata.category(c).startswith("M")


def _joinable(c: str) -> bool:
    return c != "" and not c.isascii() and not c.isspace() and not _is_latin_letter(c)


@lru_cache(maxsize=4096)
def _nfkc(ch: str) -> str:
    out = unicodedata.normalize("NFKC", ch)
    # Spacing accents ("¨", U+00B4) decompose to a space plus a mark; keep them so no word is split.
    if not ch.isspace() and any(c.isspace() for c in out):
        return ch
    return out


@lru_cache(maxsize=4096)
def _fold_latin(c: str) -> str:
    """Strip diacritics from a Latin letter ("ö" -> "o"); other characters pass through."""
    if c.isascii() or not _is_latin_letter(c):
        return c
    return "".join(d for d in unicodedata.normalize("NFKD", c) if not _is_mark(d)) or c


def _unicode(text: str) -> _Chars:
    # The next character that is not zero-width, for the joiner rule.
    following = [""] * len(text)
    upcoming = ""
    for i in range(len(text) - 1, -1, -1):
        following[i] = upcoming
        if text[i] not in _ALWAYS_DROPPED and text[i] not in _JOINERS:
            upcoming = text[i]

    out: _Chars = []
    for i, ch in enumerate(text):
        if ch in _ALWAYS_DROPPED:
            continue
        previous = out[-1][0] if out else ""
        if ch in _JOINERS:
            if _joinable(previous) and _joinable(following[i]):
                out.append((ch, i))
            continue
        for c in _nfkc(ch):
            # Marks after a Latin letter are accents or zalgo noise ("wo\u0308men").
            if _is_mark(c) and out and _is_latin_letter(out[-1][0]):
                continue
            out.extend((d, i) for d in _fold_latin(c))
    return out


# --- Protected tokens -------------------------------------------------------------------------

_TOKEN = re.compile(r"\S+")
# "@sarah" is a mention; "@ss" and "@$$" are leetspeak.
_MENTION = re.compile(r"@(?![sS$]{2})\w")


def _text(chars: _Chars) -> str:
    return "".join(c for c, _ in chars)


def _core_bounds(token: str) -> tuple[int, int]:
    """The token without edge punctuation ("(w0m3n!!!)" -> "w0m3n"), keeping leet "@" and "$"."""
    lo, hi = 0, len(token)
    while lo < hi and not (token[lo].isalnum() or token[lo] in "@$"):
        lo += 1
    while hi > lo and not (token[hi - 1].isalnum() or token[hi - 1] == "$"):
        hi -= 1
    return lo, hi


def _is_protected(token: str) -> bool:
    lo, hi = _core_bounds(token)
    core = token[lo:hi]
    local, at, domain = core.partition("@")
    is_email = bool(local and at and "." in domain.strip("."))
    return (
        "://" in token
        or core.lower().startswith("www.")
        or is_email
        or _MENTION.match(core) is not None
    )


def _open_tokens(text: str) -> Iterator[re.Match[str]]:
    """Whitespace-separated tokens that are not URLs, e-mail addresses or mentions."""
    return (m for m in _TOKEN.finditer(text) if not _is_protected(m.group()))


def _protected_mask(text: str) -> list[bool]:
    mask = [False] * len(text)
    for m in _TOKEN.finditer(text):
        if _is_protected(m.group()):
            mask[m.start() : m.end()] = [True] * (m.end() - m.start())
    return mask


# --- 2. Homoglyphs ----------------------------------------------------------------------------

# Cyrillic and Greek letters that look like Latin ones, by Unicode name: the glyphs themselves
# cannot be told apart in review.
_LOOKALIKES = (
    (
        "CYRILLIC SMALL LETTER",
        "A=a, IE=e, O=o, ER=p, ES=c, U=y, HA=x, BYELORUSSIAN-UKRAINIAN I=i, JE=j, DZE=s, "
        "KOMI DE=d, SHHA=h, QA=q, WE=w, PALOCHKA=l",
    ),
    (
        "CYRILLIC CAPITAL LETTER",
        "A=A, VE=B, IE=E, KA=K, EM=M, EN=H, O=O, ER=P, ES=C, TE=T, HA=X, U=Y, "
        "BYELORUSSIAN-UKRAINIAN I=I, JE=J, DZE=S",
    ),
    ("GREEK SMALL LETTER", "OMICRON=o, ALPHA=a, NU=v, IOTA=i, KAPPA=k, TAU=t, RHO=p, UPSILON=u"),
    (
        "GREEK CAPITAL LETTER",
        "ALPHA=A, BETA=B, EPSILON=E, ZETA=Z, ETA=H, IOTA=I, KAPPA=K, MU=M, NU=N, OMICRON=O, "
        "RHO=P, TAU=T, UPSILON=Y, CHI=X",
    ),
)
_HOMOGLYPHS = {
    unicodedata.lookup(f"{prefix} {name}"): latin
    for prefix, pairs in _LOOKALIKES
    for name, latin in (pair.split("=") for pair in pairs.split(", "))
}
_WORD = regex.compile(r"[\p{L}\p{N}\p{M}]+")


def _homoglyphs(chars: _Chars) -> _Chars:
    text = _text(chars)
    mask = _protected_mask(text)
    out = list(chars)
    for m in _WORD.finditer(text):
        # A word with no Latin letter is real Cyrillic or Greek ("Москва") and stays as it is.
        if mask[m.start()] or not any(_is_latin_letter(c) for c in m.group()):
            continue
        for k in range(m.start(), m.end()):
            c, origin = chars[k]
            if c in _HOMOGLYPHS:
                out[k] = (_HOMOGLYPHS[c], origin)
    return out


# --- 3. Leetspeak -----------------------------------------------------------------------------

_LEET = {
    "0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b",
    "@": "a", "$": "s", "!": "i", "|": "l",
}  # fmt: skip
_LEADING_LEET = re.compile(r"@[sS$]{2}|\$[a-z]{2}")


def _has_edge_leet(core: str) -> bool:
    """Leet at the edge of a word counts only in these shapes: "@ss", "$hit", "a$$"."""
    if _LEADING_LEET.match(core):
        return True
    body = core.rstrip("$")
    return len(core) - len(body) >= 2 and body[-1:].isascii() and body[-1:].isalpha()


def _leet_replacements(core: str) -> list[tuple[int, str]]:
    """Positions in ``core`` to replace, and their letters; empty unless it is clearly leet.

    A digit, "@" or "$" with letters on both sides ("b1tch", "st00pid") marks the word as leet;
    then edge digits are mapped too ("wh0r3"). Edge digits alone ("4pm", "2nd", "mp3") and words
    with other digits ("covid19") are left alone. "!" and "|" count only right between letters.
    """
    is_letter = [c.isascii() and c.isalpha() for c in core]
    edge_leet = _has_edge_leet(core)
    if sum(is_letter) < (1 if edge_leet else 2) or any(
        c.isdigit() and c not in _LEET for c in core
    ):
        return []
    letters_after = [False] * (len(core) + 1)
    for k in range(len(core) - 1, -1, -1):
        letters_after[k] = letters_after[k + 1] or is_letter[k]

    positions: list[int] = []
    is_leet = edge_leet
    letters_before = False
    for k, c in enumerate(core):
        if c in _LEET:
            if c in "!|":
                if 0 < k < len(core) - 1 and is_letter[k - 1] and is_letter[k + 1]:
                    positions.append(k)
                    is_leet = True
            else:
                positions.append(k)
                is_leet = is_leet or (letters_before and letters_after[k + 1])
        letters_before = letters_before or is_letter[k]
    if not is_leet:
        return []
    shouting = all(c.isupper() for c, letter in zip(core, is_letter, strict=True) if letter)
    return [(k, _LEET[core[k]].upper() if shouting else _LEET[core[k]]) for k in positions]


def _leet(chars: _Chars) -> _Chars:
    out = list(chars)
    for m in _open_tokens(_text(chars)):
        lo, hi = _core_bounds(m.group())
        for k, letter in _leet_replacements(m.group()[lo:hi]):
            index = m.start() + lo + k
            out[index] = (letter, chars[index][1])
    return out


# --- 4. Spaced-out letters --------------------------------------------------------------------

_SEPARATORS = frozenset(" .-_")


def _spaced_letters(chars: _Chars) -> _Chars:
    text = _text(chars)
    mask = _protected_mask(text)
    n = len(text)

    def single(k: int) -> bool:
        """A lone ASCII letter: not part of a longer word."""
        return (
            k < n
            and text[k].isascii()
            and text[k].isalpha()
            and not mask[k]
            and (k + 1 == n or not text[k + 1].isalnum())
        )

    dropped = [False] * n
    i = 0
    while i < n:
        if not (single(i) and i + 1 < n and text[i + 1] in _SEPARATORS):
            i += 1
            continue
        sep = text[i + 1]
        # "ab.c.d.e" and "x.y.z.com" are names, not a word spelled out.
        if i > 0 and (text[i - 1].isalnum() or (sep != " " and text[i - 1] == sep)):
            i += 1
            continue
        j = i
        while j + 2 < n and text[j + 1] == sep and single(j + 2):
            j += 2
        ends_clean = sep == " " or j + 2 >= n or text[j + 1] != sep or not text[j + 2].isalnum()
        # "is a b i t c h": the article is a word of its own, not the first letter.
        if sep == " " and text[i] in "aAI" and (j - i) // 2 + 1 >= 4:
            i += 2
        if ends_clean and (j - i) // 2 + 1 >= 3:
            for k in range(i + 1, j, 2):
                dropped[k] = True
        i = j + 1
    return [pair for pair, drop in zip(chars, dropped, strict=True) if not drop]


# --- 5. Repeated characters -------------------------------------------------------------------

# Three of these in a row is a Roman numeral or a rating ("Henry VIII", "XXX"), not emphasis.
_TRIPLES_KEPT = frozenset(("III", "XXX", "CCC", "MMM"))
# Latin letters that English doubles ("see", "too", "all", "off"); a stretched run of any other
# letter ("biiiitch", "cuuunt") is shortened to one, since "ii" or "uu" would still be misspelt.
_DOUBLED = frozenset("bcdefglmnoprstz")


def _repeats(chars: _Chars) -> _Chars:
    text = _text(chars)
    mask = _protected_mask(text)
    out: _Chars = []
    i = 0
    while i < len(text):
        c = text[i]
        j = i + 1
        if c.isalpha():
            while j < len(text) and text[j].lower() == c.lower():
                j += 1
            doubled = 2 if c.lower() in _DOUBLED or not c.isascii() else 1
            keep = doubled if j - i >= 3 and text[i:j] not in _TRIPLES_KEPT else j - i
        else:
            while j < len(text) and text[j] == c:
                j += 1
            keep = min(3, j - i) if unicodedata.category(c).startswith("P") else j - i
        out.extend(chars[i : j if mask[i] else i + keep])
        i = j
    return out
