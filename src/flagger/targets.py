"""Neutral mentions of who a message is about: the words an explanation must not offer as evidence.

A reviewer defending a flag needs what was *said* ("too emotional to make decisions"), not who it
was said about ("Women"). This module finds the neutral mentions (targets): gendered nouns,
pronouns, family and relationship words, titles, and first names. Words that demean in themselves
("bitches", "feminazis", "thot") are not here on purpose: they are evidence even though they also
name her. Matching is on whole candidate words (the span search's units), case-insensitive except
for names, which must be capitalised.

First names come from Faker's person providers for English-speaking locales (MIT licence), less
the names that are also common English words ("Will", "May", "Hope").
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from functools import lru_cache

import regex

# Gendered group and person nouns, pronouns, family and relationship words, and titles.
TARGET_WORDS = frozenset(
    """
    woman women womens woman's women's womans womankind womenfolk
    girl girls girl's girls' gal gals lady ladies lady's ladies' female females female's femme
    she her hers herself she's she'd she'll shes
    wife wives wife's wifey girlfriend girlfriends gf fiancee fiancée bride brides
    mother mothers mom moms mum mums mummy mommy mama mamas mother's mum's mom's
    daughter daughters sister sisters sis aunt aunts auntie niece nieces grandma granny
    grandmother grandmothers stepmother widow widows spinster
    mrs ms miss madam madame ma'am maam mistress dame
    feminist feminists feminism feminine femininity womanhood sisterhood
    chick chicks lass lasses lassie
    man men man's men's mankind guy guys guy's boy boys boy's gentleman gentlemen male males
    he him his himself he's he'd he'll
    husband husbands boyfriend boyfriends bf fiance groom father fathers dad dads daddy
    son sons brother brothers bro uncle nephew grandpa grandfather
    mr sir gentlemen's masculine masculinity manhood
    they them their
    """.split()
)

# Determiners and possessives that belong to the mention they precede ("a woman", "his wife").
_DETERMINERS = frozenset(
    "a an the this that these those every each some any all both my your his our their one".split()
)
# Gendered adjectives whose next word is the head of the mention ("female officers").
_MODIFIERS = frozenset("female male lady woman women girl".split())

# Function words: never evidence on their own (deleting "a" moves a mean-pooled score, but it is
# not what was said); evidence may still run across them ("too emotional to make decisions").
# Negations ("not", "never", "can't") are not here: they often are what was said.
FUNCTION_WORDS = frozenset(
    """
    a an the this that these those some any each every either neither all both few many much
    more most other such own same so than too very also even
    and or but nor yet if then else because as while when whenever where wherever whether
    though although unless until since
    of in on at to for from by with about into onto upon over under above below between among
    through during before after against without within along across around behind beyond near
    off out up down per via
    is am are was were be been being do does did doing done have has had having will would
    shall should can could may might must
    i me my mine myself we us our ours ourselves you your yours yourself yourselves it its itself
    who whom whose which what there here i'm i've i'd i'll you're you've you'd we're it's that's
    there's what's
    """.split()
)

# First names that are also common English words, left out so "May I ask" is not a target.
_NAME_WORDS = frozenset(
    """
    will may june april august hope grace joy faith summer autumn dawn rose ivy lily holly
    iris ruby amber crystal destiny heather jade jasmine violet pearl page mark bill art pat
    sue rob chase drew gene guy jack ray rich carol angel christian frank grant hunter
    king lane miles norman price rusty sandy skip victor wade will young don dean bishop
    brook brooke star sky river rock penny candy charity harmony honey melody mercy
    patience precious sunny trinity unique
    """.split()
)

# Words that follow a gendered word without being the noun it qualifies ("women are", "girl who").
_NOT_NOUNS = frozenset(
    """
    not never don't can't won't shouldn't couldn't wouldn't isn't aren't just always only still
    really actually should get got go went need needs want wants like like think thinks say
    says said know knows make makes cry cries love loves hate hates belong belongs deserve
    deserves let lets let's
    """.split()
)

_NAME_LOCALES = ("en_US", "en_GB", "en_IE", "en_IN", "en_NG", "en_KE", "en_PK", "en_NZ")
_CAPITALISED = regex.compile(r"^\p{Lu}[\p{Ll}'\u2019\-]+$")


@lru_cache(maxsize=1)
def first_names() -> frozenset[str]:
    """Lower-cased first names (women's and men's) of the English-speaking Faker locales."""
    names: set[str] = set()
    for locale in _NAME_LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for attribute in ("first_names_female", "first_names_male", "first_names"):
            names.update(n.lower() for n in getattr(provider, attribute, ()) if n.isalpha())
    return frozenset(names - _NAME_WORDS)


def _plain(word: str) -> str:
    return word.lower().replace("\u2019", "'")


def is_target(word: str, previous: str | None = None) -> bool:
    """Whether a single word is a neutral mention of a person or group.

    ``previous`` is the word before it: a capitalised word after a title ("Mrs Patel") is a target
    whatever it is.
    """
    plain = _plain(word)
    if plain in TARGET_WORDS:
        return True
    if not _CAPITALISED.match(word):
        return False
    if previous is not None and _plain(previous).rstrip(".") in {"mrs", "ms", "miss", "mr", "dr"}:
        return True
    return plain.removesuffix("'s").removesuffix("\u2019s") in first_names()


def is_function_word(word: str) -> bool:
    """Whether ``word`` is a function word (article, preposition, auxiliary, plain pronoun)."""
    return _plain(word) in FUNCTION_WORDS


def target_tokens(text: str, tokens: Sequence[tuple[int, int]]) -> list[int]:
    """Indices of the ``tokens`` (character ranges of ``text``) that are target mentions.

    A mention takes in the determiner before it ("a woman", "his wife") and, after a gendered
    adjective, the noun it qualifies ("female officers"), when nothing but a space is between.
    """
    words = [text[start:end] for start, end in tokens]
    found = {i for i, word in enumerate(words) if is_target(word, words[i - 1] if i else None)}

    def joined(i: int) -> bool:  # token i and token i + 1 are separated by spaces only
        return not text[tokens[i][1] : tokens[i + 1][0]].strip()

    for i in sorted(found):
        after = i + 1
        if (
            _plain(words[i]) in _MODIFIERS
            and after < len(words)
            and after not in found
            and joined(i)
            and not is_function_word(words[after])
            and words[after].isalpha()
            and _plain(words[after]) not in _NOT_NOUNS
        ):
            found.add(after)
    for i in sorted(found):
        before = i - 1
        if before >= 0 and _plain(words[before]) in _DETERMINERS and joined(before):
            found.add(before)
    return sorted(found)
