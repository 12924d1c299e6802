"""Boilerplate: protective markings, disclaimers and list footers are nobody's own words."""

import mailbox
from email.message import EmailMessage
from pathlib import Path

import numpy as np
import pytest

from flagger.boilerplate import Boilerplate
from flagger.emails import own_words
from flagger.errors import InputFileError
from flagger.explain import SpanSearch, find_spans
from flagger.readers import Message, read_messages

BODY = """OFFICIAL-SENSITIVE

Rota for next week is attached, shout if it clashes.
Sam

This e-mail and any attachments are confidential and intended solely for the addressee.
If you are not the intended recipient please delete it.

Ordinary line after the disclaimer.
_______________________________________________
rota-list mailing list
https://lists.example.org/listinfo/rota-list
"""


def test_markings_disclaimers_and_footers_are_stripped_and_counted() -> None:
    text, removed = own_words(BODY)
    assert text == (
        "Rota for next week is attached, shout if it clashes.\nSam\n\n\n"
        "Ordinary line after the disclaimer."
    )
    assert removed == len(BODY.strip()) - len(text)


def test_markings_are_only_taken_alone_on_their_line() -> None:
    text, _ = own_words("[NOT PROTECTIVELY MARKED]\nThat report is confidential, keep it close.")
    assert text == "That report is confidential, keep it close."


def test_an_organisation_adds_its_own_rules(tmp_path: Path) -> None:
    rules = tmp_path / "rules.txt"
    rules.write_text("# ours\nline: ^Classification: Internal$\nrest: ^-- Sent via Portal\n")
    boilerplate = Boilerplate.with_file(rules)
    text, _ = own_words(
        "Classification: Internal\nsee you at 9\n-- Sent via Portal\nads", boilerplate
    )
    assert text == "see you at 9"
    rules.write_text("sometimes: x\n")
    with pytest.raises(InputFileError, match=r"rules.txt:1: expected 'SCOPE: REGEX'"):
        Boilerplate.with_file(rules)
    rules.write_text("line: (unclosed\n")
    with pytest.raises(InputFileError, match=r"rules.txt:1: bad regular expression"):
        Boilerplate.with_file(rules)


def test_offsets_are_exact_against_the_output_text(tmp_path: Path) -> None:
    message = EmailMessage()
    message["From"] = "a@example.org"
    message["Message-ID"] = "<1@x>"
    message.set_content(BODY)
    box = mailbox.mbox(str(tmp_path / "a.mbox"))
    box.add(message)
    box.close()
    [found] = list(read_messages(tmp_path / "a.mbox"))
    assert isinstance(found, Message) and "OFFICIAL" not in found.text
    start = found.text.index("clashes")
    assert found.text[start : start + 7] == "clashes" and found.removed_chars


def test_evidence_never_points_at_urls_or_addresses() -> None:
    text = "see https://intranet.example/rota or mail jo.smith@force.example.uk about the kitchen"

    def leans_on_links(texts: list[str]) -> np.ndarray:
        return np.array(
            [0.1 + 0.5 * ("https" in t) + 0.3 * ("@" in t) + 0.2 * ("kitchen" in t) for t in texts]
        )

    [found] = find_spans(leans_on_links, [text], [1.1], 0.5, search=SpanSearch(phrase_words=6))
    assert found.spans
    assert all("https" not in s.text and "@" not in s.text for s in found.spans)
