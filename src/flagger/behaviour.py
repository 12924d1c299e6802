"""Behavioural test suites (CheckList-style): templated cases with expected labels, per capability.

A suite is a directory of JSON files. ``slots.json`` holds shared fill-in lists; every other file
describes one capability::

    {"capability": "negation", "description": "...", "per_template": 7,
     "sets": [{"expected": "not sexist", "group": "women",
               "templates": ["{women} are not {bad}.", "..."]}]}

A template is expanded with every combination of its slots' values, and ``per_template`` of them
are kept, chosen by a seed derived from the template itself (so adding a template never changes
the cases of another). ``{slot|op}`` disguises the filled-in value with an obfuscation ``op``
(``leet``, ``spaced``, ``dotted``, ``drop``, ``swap``, ``repeat``, ``homoglyph``). ``group``
(women, men, none) marks who a not-sexist case mentions, for the fairness report.
"""

from __future__ import annotations

import itertools
import json
import random
import zlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import regex

from flagger.errors import InputFileError
from flagger.labels import parse_binary_label

SLOTS_FILE = "slots.json"
# Capabilities whose not-sexist cases are neutral or positive mentions of a group (fairness).
MENTION_CAPABILITIES = ("neutral_mentions", "workplace_gendered")
_SLOT = regex.compile(r"\{(\w+)(?:\|(\w+))?\}")
_LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
# Cyrillic look-alikes of Latin letters (written as escapes so the source stays unambiguous).
_HOMOGLYPHS = {
    "a": "\u0430",
    "e": "\u0435",
    "o": "\u043e",
    "p": "\u0440",
    "c": "\u0441",
    "x": "\u0445",
    "i": "\u0456",
    "y": "\u0443",
}


@dataclass(frozen=True)
class Case:
    """One behavioural test: a text and what the model should say about it."""

    id: str
    capability: str
    text: str
    sexist: int
    group: str | None
    template: str


def _longest_word(value: str) -> tuple[int, int]:
    words = [m.span() for m in regex.finditer(r"\p{L}+", value)]
    return max(words, key=lambda span: span[1] - span[0]) if words else (0, len(value))


def _inner(word: str, rng: random.Random) -> int:
    """A random position strictly inside ``word`` (not its first or last letter)."""
    return rng.randrange(1, len(word) - 1) if len(word) > 2 else 0


def _leet(word: str, rng: random.Random) -> str:
    return "".join(_LEET.get(c.lower(), c) if rng.random() < 0.7 else c for c in word)


def _drop(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    at = _inner(word, rng)
    return word[:at] + word[at + 1 :]


def _swap(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    at = rng.randrange(1, len(word) - 2)
    return word[:at] + word[at + 1] + word[at] + word[at + 2 :]


def _repeat(word: str, rng: random.Random) -> str:
    vowels = [i for i, c in enumerate(word) if c.lower() in "aeiou"] or [len(word) - 1]
    at = rng.choice(vowels)
    return word[: at + 1] + word[at] * rng.randrange(3, 6) + word[at + 1 :]


def _homoglyph(word: str, rng: random.Random) -> str:
    swappable = [i for i, c in enumerate(word) if c in _HOMOGLYPHS]
    chosen = set(rng.sample(swappable, k=min(2, len(swappable))))
    return "".join(_HOMOGLYPHS[c] if i in chosen else c for i, c in enumerate(word))


OBFUSCATIONS: dict[str, Callable[[str, random.Random], str]] = {
    "leet": _leet,
    "spaced": lambda word, _: " ".join(word),
    "dotted": lambda word, _: ".".join(word),
    "drop": _drop,
    "swap": _swap,
    "repeat": _repeat,
    "homoglyph": _homoglyph,
}


def obfuscate(value: str, op: str, rng: random.Random) -> str:
    """Disguise the longest word of ``value`` with obfuscation ``op``."""
    start, end = _longest_word(value)
    return value[:start] + OBFUSCATIONS[op](value[start:end], rng) + value[end:]


def expand(
    template: str, slots: dict[str, list[str]], count: int, source: str = "<template>"
) -> list[str]:
    """Up to ``count`` texts from ``template``, chosen reproducibly from all slot combinations.

    Raises:
        InputFileError: a slot or obfuscation the suite does not define.
    """
    fields = _SLOT.findall(template)
    names = list(dict.fromkeys(name for name, _ in fields))
    for name, op in fields:
        if name not in slots:
            raise InputFileError(f"{source}: template {template!r} uses unknown slot {{{name}}}")
        if op and op not in OBFUSCATIONS:
            raise InputFileError(
                f"{source}: unknown obfuscation {op!r}; known: {', '.join(OBFUSCATIONS)}"
            )
    rng = random.Random(zlib.crc32(template.encode()))
    combos = list(itertools.product(*(slots[n] for n in names)))
    chosen = rng.sample(combos, k=min(count, len(combos)))
    texts = []
    for combo in chosen:
        values = dict(zip(names, combo, strict=True))

        def fill(match: regex.Match[str], values: dict[str, str] = values) -> str:
            value = values[match.group(1)]
            return obfuscate(value, match.group(2), rng) if match.group(2) else value

        text = _SLOT.sub(fill, template)
        texts.append(text[:1].upper() + text[1:])
    return texts


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(f"{path}: not a readable JSON suite file ({exc})") from None


def load_suite(directory: str | Path) -> list[Case]:
    """Expand every capability file of a suite directory into cases.

    Raises:
        InputFileError: a missing directory, unreadable file, or bad template.
    """
    root = Path(directory)
    if not root.is_dir():
        raise InputFileError(f"behaviour suite {root} is not a directory")
    slots_path = root / SLOTS_FILE
    slots: dict[str, list[str]] = _read_json(slots_path) if slots_path.is_file() else {}
    cases: list[Case] = []
    for path in sorted(root.glob("*.json")):
        if path.name == SLOTS_FILE:
            continue
        spec = _read_json(path)
        try:
            capability = spec["capability"]
            per_template = int(spec.get("per_template", 5))
            sets = spec["sets"]
        except (KeyError, TypeError, ValueError) as exc:
            raise InputFileError(f"{path}: missing or bad field {exc}") from None
        for block in sets:
            sexist = parse_binary_label(block.get("expected"))
            if sexist is None:
                raise InputFileError(f"{path}: 'expected' must be 'sexist' or 'not sexist'")
            for template in block.get("templates", []):
                for text in expand(template, slots, per_template, str(path)):
                    cases.append(
                        Case(
                            id=f"{capability}-{len(cases):04d}",
                            capability=capability,
                            text=text,
                            sexist=sexist,
                            group=block.get("group"),
                            template=template,
                        )
                    )
    if not cases:
        raise InputFileError(f"behaviour suite {root} has no cases")
    return cases


def suite_report(cases: Sequence[Case], scores: np.ndarray, threshold: float) -> dict[str, Any]:
    """Pass rate per capability and overall, and false-positive rates per mentioned group.

    A case passes when the model flags it exactly when it is expected to be sexist.
    """
    flagged = np.asarray(scores) >= threshold
    passed = [bool(f) == bool(c.sexist) for c, f in zip(cases, flagged, strict=True)]
    by_capability: dict[str, list[bool]] = defaultdict(list)
    for case, ok in zip(cases, passed, strict=True):
        by_capability[case.capability].append(ok)
    # Fairness: how often not-sexist mentions of each group are flagged anyway.
    by_group: dict[str, list[bool]] = defaultdict(list)
    for case, hit in zip(cases, flagged, strict=True):
        if not case.sexist and case.group and case.capability in MENTION_CAPABILITIES:
            by_group[case.group].append(bool(hit))
    failures = [
        {"id": c.id, "capability": c.capability, "expected": c.sexist, "score": round(float(s), 4)}
        for c, s, ok in zip(cases, scores, passed, strict=True)
        if not ok
    ]
    return {
        "threshold": threshold,
        "cases": len(cases),
        "pass_rate": float(np.mean(passed)),
        "capabilities": {
            name: {"cases": len(oks), "pass_rate": float(np.mean(oks))}
            for name, oks in sorted(by_capability.items())
        },
        "false_positive_rate_by_group": {
            group: {"cases": len(hits), "rate": float(np.mean(hits))}
            for group, hits in sorted(by_group.items())
        },
        "failures": failures,
    }
