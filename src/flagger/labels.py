"""The EDOS label taxonomy: the single source of truth for label names and their order.

Category and vector names are the EDOS (SemEval-2023 Task 10) strings exactly as they appear in
the data, so predictions can be compared with gold labels without any mapping.
"""

from __future__ import annotations

SEXIST = "sexist"
NOT_SEXIST = "not sexist"
NONE = "none"

CATEGORIES: tuple[str, ...] = (
    "1. threats, plans to harm and incitement",
    "2. derogation",
    "3. animosity",
    "4. prejudiced discussions",
)

VECTORS: tuple[str, ...] = (
    "1.1 threats of harm",
    "1.2 incitement and encouragement of harm",
    "2.1 descriptive attacks",
    "2.2 aggressive and emotive attacks",
    "2.3 dehumanising attacks & overt sexual objectification",
    "3.1 casual use of gendered slurs, profanities, and insults",
    "3.2 immutable gender differences and gender stereotypes",
    "3.3 backhanded gendered compliments",
    "3.4 condescending explanations or unwelcome advice",
    "4.1 supporting mistreatment of individual women",
    "4.2 supporting systemic discrimination against women as a group",
)

# Each vector belongs to the category whose number prefixes it ("2.1 ..." -> "2. ...").
VECTOR_TO_CATEGORY: dict[str, str] = {
    vector: next(c for c in CATEGORIES if c.split(".")[0] == vector.split(".")[0])
    for vector in VECTORS
}

_TRUE_LABELS = {"1", "true", "yes", SEXIST}
_FALSE_LABELS = {"0", "false", "no", NOT_SEXIST}


def parse_binary_label(value: object) -> int | None:
    """Read a binary sexism label written in any of the usual ways.

    Args:
        value: ``"sexist"``/``"not sexist"``, ``1``/``0``, ``True``/``False`` or their strings.

    Returns:
        1 for sexist, 0 for not sexist, ``None`` for a missing value.

    Raises:
        ValueError: if the value is none of the accepted spellings.
    """
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return int(value)
    text = str(value).strip().lower()
    if text in _TRUE_LABELS:
        return 1
    if text in _FALSE_LABELS:
        return 0
    raise ValueError(
        f"expected a binary label ('sexist'/'not sexist', 1/0, true/false), found {value!r}"
    )


def label_index(value: object, names: tuple[str, ...]) -> int | None:
    """Map a category or vector string to its index in ``names``.

    Args:
        value: the label string; ``"none"``, empty and ``None`` mean "no label".
        names: ``CATEGORIES`` or ``VECTORS``.

    Returns:
        The index, or ``None`` when the value means "no label".

    Raises:
        ValueError: if the value is not one of ``names``.
    """
    if value is None:
        return None
    text = str(value).strip()
    if text == "" or text.lower() == NONE:
        return None
    try:
        return names.index(text)
    except ValueError:
        raise ValueError(f"unknown label {text!r}; expected one of {list(names)}") from None
