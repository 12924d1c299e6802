"""The target lexicon: neutral mentions of who a message is about, which are never evidence."""

import pytest

from flagger.explain import candidate_tokens
from flagger.targets import first_names, is_function_word, is_target, target_tokens


def targets_of(text: str) -> list[str]:
    tokens = candidate_tokens(text)
    return [text[tokens[i][0] : tokens[i][1]] for i in target_tokens(text, tokens)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Women are too emotional to lead", ["Women"]),
        ("she said her piece", ["she", "her"]),
        ("Put a woman in charge", ["a", "woman"]),
        ("his wife's car", ["his", "wife's"]),
        ("Female officers should stay on the desk", ["Female", "officers"]),
        ("women are not funny", ["women"]),  # "are" is not the noun "women" qualifies
        ("Ask Mrs Okonkwo", ["Mrs", "Okonkwo"]),
        ("Priya was late again", ["Priya"]),
        ("the bitches on the ward", []),  # a slur is evidence, not a target
        ("feminazis ruin everything", []),
        ("May I ask you something", []),  # a name that is also a word is not taken
        ("sarah was late", []),  # names must be capitalised
    ],
)
def test_targets(text: str, expected: list[str]) -> None:
    assert targets_of(text) == expected


def test_names_come_from_several_english_locales() -> None:
    names = first_names()
    assert {"priya", "sarah", "wanjiru", "aoife", "ayesha"} <= names
    assert "may" not in names and "will" not in names


def test_function_words_and_negations() -> None:
    assert is_function_word("The") and is_function_word("to")
    assert not is_function_word("not") and not is_function_word("can't")
    assert is_target("She\u2019s") and not is_target("kitchen")
