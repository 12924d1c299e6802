"""The normaliser: obfuscation undone, ordinary text untouched, offsets exact for any input."""

import csv
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flagger.normalize import Normalized, normalize, normalize_many

FULLWIDTH_WOMEN = "".join(chr(ord(c) + 0xFEE0) for c in "women")
# Persian "I want": its zero-width non-joiner is part of the spelling.
PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"

EXAMPLES = [
    ("w0m3n are st00pid", "women are stoopid"),
    ("w o m e n are weak", "women are weak"),
    ("b.i.t.c.h", "bitch"),
    ("s-l-u-t", "slut"),
    ("w\u043emen", "women"),  # Cyrillic o
    ("\u0455lut", "slut"),  # Cyrillic s in a word that also has Latin letters
    ("Москва", "Москва"),
    ("Αθήνα", "Αθήνα"),
    (FULLWIDTH_WOMEN, "women"),
    ("sooooo stupid", "soo stupid"),
    ("biiiitch!!!!!!", "bitch!!!"),
    ("cuuuunt", "cunt"),
    ("thiiiiick and fuuuull", "thick and full"),
    (
        "meeting at 10:30 on 24/7 rota, 2nd floor, 4pm",
        "meeting at 10:30 on 24/7 rota, 2nd floor, 4pm",
    ),
    ("1st 3rd 5th £40 2024 mp3 covid19 gr8", "1st 3rd 5th £40 2024 mp3 covid19 gr8"),
    ("https://example.org/w0m3n", "https://example.org/w0m3n"),
    ("www.w0m3n.org/aaaa", "www.w0m3n.org/aaaa"),
    ("mail b1tch@example.org", "mail b1tch@example.org"),
    ("@sarah", "@sarah"),
    ("@ss", "ass"),
    ("b1tch", "bitch"),
    ("b!tch", "bitch"),
    ("W0M3N", "WOMEN"),
    ("women!!!", "women!!!"),
    ("wömen", "women"),
    ("wo\u0308men", "women"),  # decomposed diacritic
    ("I am a cop", "I am a cop"),
    ("Henry VIII", "Henry VIII"),
    ("a b, x.y.z.com, ab.c.d.e", "a b, x.y.z.com, ab.c.d.e"),  # too short, or names
    ("so b.i.t.c.h", "so bitch"),
    ("a$$ and $hit", "ass and shit"),
    (PERSIAN, PERSIAN),
    ("\U0001f469\u200d\U0001f4bc", "\U0001f469\u200d\U0001f4bc"),  # 👩‍💼 keeps its joiner
    ("wo\u200bmen", "women"),
    ("wo\u200dmen", "women"),
    ("\ufb01ne", "fine"),  # ligature ﬁ expands to two characters
]


@pytest.mark.parametrize(("original", "expected"), EXAMPLES)
def test_examples(original: str, expected: str) -> None:
    result = normalize(original)
    assert result.text == expected
    check_origins(original, result)


def check_origins(original: str, result: Normalized) -> None:
    origins = result.origins
    assert len(origins) == len(result.text) + 1
    assert origins[-1] == len(original)
    assert all(a <= b for a, b in pairwise(origins))
    assert all(0 <= origin < len(original) for origin in origins[:-1])


@pytest.mark.parametrize(
    ("original", "word", "obfuscated"),
    [
        ("you w0m3n are st00pid", "stoopid", "st00pid"),
        ("you w0m3n are st00pid", "women", "w0m3n"),
        ("w o m e n are weak", "women", "w o m e n"),
        ("so b.i.t.c.h.", "bitch", "b.i.t.c.h"),
        ("she is a w\u043emen hater", "women", "w\u043emen"),
        (FULLWIDTH_WOMEN + " rule", "women", FULLWIDTH_WOMEN),
        ("wo\u200bmen", "women", "wo\u200bmen"),
        ("the wo\u0308men", "women", "wo\u0308men"),
    ],
)
def test_word_maps_back_to_obfuscated_word(original: str, word: str, obfuscated: str) -> None:
    result = normalize(original)
    start = result.text.index(word)
    a, b = result.to_original(start, start + len(word))
    assert original[a:b] == obfuscated


def test_expanded_character_maps_back_to_its_source() -> None:
    result = normalize("a \ufb01 b")  # "ﬁ" -> "fi"
    start = result.text.index("f")
    assert result.to_original(start, start + 1) == (2, 3)
    assert result.to_original(start + 1, start + 2) == (2, 3)


def test_to_original_rejects_bad_ranges() -> None:
    result = normalize("women")
    assert result.to_original(2, 2) == (2, 2)
    for start, end in [(-1, 2), (3, 2), (0, 6)]:
        with pytest.raises(ValueError, match="start <= end"):
            result.to_original(start, end)


def test_normalize_many_keeps_order() -> None:
    texts = ["w0m3n", "plain", ""]
    assert [n.text for n in normalize_many(texts)] == ["women", "plain", ""]


def test_long_text_is_fast() -> None:
    # Linear time: a quadratic step would take seconds on these.
    for text in ("w0m3n are st00pid w o m e n!!!! " * 400, "a$" * 5000, "a." * 5000, "$" * 10000):
        result = normalize(text)
        check_origins(text, result)


TRICKY = st.sampled_from(
    [
        *"aeow01345@$!|.-_ \t\n",
        *"\u200b\u200c\u200d\u00ad\ufeff\u0308\u0300",  # invisible characters and accents
        *"\u043e\u0455\u03bf\u00f6\ufb01\u00a8\uff57\u0130\u00df",  # look-alikes, ligature
        *"\U0001f469\U0001f3fd\ufe0f",  # emoji parts
        *["://", "www.", "@sarah"],
    ]
)
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"])) | st.lists(TRICKY).map("".join)


@given(original=ANY_TEXT, data=st.data())
def test_offsets_are_valid_for_any_text(original: str, data: st.DataObject) -> None:
    result = normalize(original)
    check_origins(original, result)
    if result.text:
        start = data.draw(st.integers(0, len(result.text) - 1))
        end = data.draw(st.integers(start + 1, len(result.text)))
        a, b = result.to_original(start, end)
        assert 0 <= a < b <= len(original)


WORDS = (
    "the women men she he I a an is are was not at on in of to and but or it this that "
    "meeting rota floor team manager report today tomorrow please thanks good well done "
    "don't it's I'll we're 2024 10:30 24/7 4pm 2nd 3rd 1st 5th £40 100% e.g. co-worker "
    "too book see all will"
).split()
PUNCTUATION = ["", "", "", ",", ".", "?", "!"]


def no_spelled_out_run(words: list[str]) -> bool:
    """Three single letters in a row ("a I a") would be read as a spelled-out word."""
    return all(max(len(w) for w in words[i : i + 3]) > 1 for i in range(len(words) - 2))


@given(
    st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(PUNCTUATION)), min_size=1)
    .filter(lambda pairs: no_spelled_out_run([w for w, _ in pairs]))
    .map(lambda pairs: " ".join(w + p for w, p in pairs))
)
def test_clean_english_is_unchanged(sentence: str) -> None:
    result = normalize(sentence)
    assert result.text == sentence
    assert result.origins == tuple(range(len(sentence) + 1))


def test_an_article_before_spaced_letters_stays_a_word() -> None:
    assert normalize("she is a b i t c h").text == "she is a bitch"
    assert normalize("I h a t e you").text == "I hate you"


# ASCII built from the characters every step reacts to, so the fast path is tested where it is
# most likely to be wrong.
TRICKY_ASCII = st.text(
    alphabet=st.sampled_from(list("aAbeIiosStX01345789@$!|.-_ \t\n?#:/w")), max_size=40
)


@given(original=TRICKY_ASCII)
def test_fast_path_agrees_with_the_full_pipeline(original: str) -> None:
    from flagger.normalize import _normalize_fully

    assert normalize(original) == _normalize_fully(original)


EDOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "edos" / "edos_train_dev.csv"


@pytest.mark.skipif(not EDOS.is_file(), reason="EDOS data not present in ../shared")
def test_fast_path_agrees_on_real_posts() -> None:
    from flagger.normalize import _normalize_fully

    with EDOS.open(encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)][:3000]
    fast = sum(t.isascii() and normalize(t).text == t for t in texts)
    for text in texts:
        assert normalize(text) == _normalize_fully(text), text
    assert fast > len(texts) // 2  # the fast path is the common case
