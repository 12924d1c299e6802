"""The EDOS taxonomy and label parsing."""

import pytest

from flagger.labels import CATEGORIES, VECTOR_TO_CATEGORY, VECTORS, label_index, parse_binary_label


def test_taxonomy_matches_edos_strings() -> None:
    assert len(CATEGORIES) == 4 and len(VECTORS) == 11
    assert "2. derogation" in CATEGORIES
    assert "2.1 descriptive attacks" in VECTORS
    assert VECTOR_TO_CATEGORY["2.1 descriptive attacks"] == "2. derogation"
    assert (
        VECTOR_TO_CATEGORY["4.2 supporting systemic discrimination against women as a group"]
        == "4. prejudiced discussions"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("sexist", 1),
        ("not sexist", 0),
        (" Sexist ", 1),
        (1, 1),
        (0, 0),
        ("1", 1),
        ("false", 0),
        (True, 1),
        (None, None),
        ("", None),
    ],
)
def test_parse_binary_label(value: object, expected: int | None) -> None:
    assert parse_binary_label(value) == expected


def test_parse_binary_label_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="expected a binary label"):
        parse_binary_label("maybe")


def test_label_index() -> None:
    assert label_index("none", CATEGORIES) is None
    assert label_index("", VECTORS) is None
    assert label_index("3. animosity", CATEGORIES) == 2
    with pytest.raises(ValueError, match="unknown label"):
        label_index("5. other", CATEGORIES)
