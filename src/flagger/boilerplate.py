"""Boilerplate that is nobody's own words: protective markings, disclaimers, mailing-list footers.

E-mail readers remove it, as they remove quoted replies and signatures, so that a message is
judged (and its evidence found) on what its author wrote; the characters removed are counted in
``removed_chars``. Each rule is a regular expression matched against whole lines (case
insensitive) and a scope:

- ``line``: the matching line goes ("OFFICIAL-SENSITIVE", "[NOT PROTECTIVELY MARKED]");
- ``paragraph``: the line and the rest of its paragraph go ("This e-mail and any attachments are
  confidential ..." up to the next blank line);
- ``rest``: the line and everything after it go (a mailing-list footer).

An organisation adds its own with a rules file (``flagger scan --boilerplate FILE``): one rule per
line, ``SCOPE: REGEX``; blank lines and lines starting with ``#`` are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from flagger.errors import InputFileError

SCOPES = ("line", "paragraph", "rest")


@dataclass(frozen=True)
class Rule:
    """Lines matching ``pattern`` start boilerplate that runs for ``scope``."""

    scope: str
    pattern: re.Pattern[str]


def _rule(scope: str, pattern: str) -> Rule:
    return Rule(scope, re.compile(pattern, re.IGNORECASE))


_MARKING = (
    r"(?:OFFICIAL(?:[\s-]+SENSITIVE)?|NOT\s+PROTECTIVELY\s+MARKED|PROTECT|RESTRICTED|"
    r"UNCLASSIFIED|CONFIDENTIAL|SECRET|TOP\s+SECRET)"
)
DEFAULT_RULES: tuple[Rule, ...] = (
    # A protective marking alone on its line, with an optional descriptor ("OFFICIAL: PERSONAL").
    _rule("line", rf"^\W*(?:classification:\s*)?{_MARKING}(?:\s*[-:]\s*[\w\s]{{0,40}})?\W*$"),
    _rule(
        "paragraph",
        r"^\W*this\s+(?:e-?mail|message|communication)\b.{0,80}\b(?:is|are|may\s+be)\s+"
        r"(?:strictly\s+)?(?:confidential|private|privileged|intended)",
    ),
    _rule("paragraph", r"^\W*the\s+information\s+(?:contained\s+)?in\s+this\s+(?:e-?mail|message)"),
    _rule("paragraph", r"^\W*if\s+you\s+(?:have\s+)?receive[d]?\s+this\s+(?:e-?mail|message)"),
    _rule("paragraph", r"^\W*(?:all\s+)?(?:e-?mail\s+)?communications?\s.{0,60}\bmonitored\b"),
    _rule("paragraph", r"^\W*any\s+views\s+or\s+opinions\s+(?:expressed|presented)\s+in\s+this"),
    _rule("line", r"^\W*please\s+consider\s+the\s+environment\s+before\s+printing"),
    # Mailing-list footers: Mailman's rule of underscores, Google Groups, unsubscribe lines.
    _rule("rest", r"^\s*_{10,}\s*$"),
    _rule("rest", r"^\W*you\s+received\s+this\s+message\s+because\s+you\s+are\s+subscribed"),
    _rule("line", r"^\W*to\s+unsubscribe\b.{0,120}$"),
)


@dataclass(frozen=True)
class Boilerplate:
    """The rules a reader strips by; ``Boilerplate()`` is the defaults."""

    rules: tuple[Rule, ...] = DEFAULT_RULES

    @classmethod
    def with_file(cls, path: Path) -> Boilerplate:
        """The defaults plus the rules of ``path`` (``SCOPE: REGEX`` per line).

        Raises:
            InputFileError: naming the file and line of an unreadable rule.
        """
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise InputFileError(f"{path}: cannot read the boilerplate rules ({error})") from None
        rules = list(DEFAULT_RULES)
        for number, line in enumerate(lines, start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            scope, _, pattern = line.partition(":")
            scope, pattern = scope.strip().lower(), pattern.strip()
            if scope not in SCOPES or not pattern:
                raise InputFileError(
                    f"{path}:{number}: expected 'SCOPE: REGEX' with SCOPE one of {SCOPES}"
                )
            try:
                rules.append(_rule(scope, pattern))
            except re.error as error:
                raise InputFileError(f"{path}:{number}: bad regular expression ({error})") from None
        return cls(tuple(rules))

    def strip(self, lines: Sequence[str]) -> list[str]:
        """``lines`` without the boilerplate."""
        kept: list[str] = []
        in_paragraph = False
        for line in lines:
            if in_paragraph:
                if line.strip():
                    continue
                in_paragraph = False
            rule = next((r for r in self.rules if r.pattern.search(line)), None)
            if rule is None:
                kept.append(line)
            elif rule.scope == "rest":
                break
            elif rule.scope == "paragraph":
                in_paragraph = True
        return kept
