"""Generate training augmentations for the hard cases, kept apart from the behavioural suite.

The suite in ``training/behaviour/`` measures the model; these sentences teach it. They are
written separately: other templates, other vocabulary, other settings (offices, hospitals,
schools rather than a police force), and any generated text that happens to equal a suite case
is dropped. Each row carries EDOS labels (category and vector for sexist rows, so the fine-grained
heads learn too) and ``split=train``: augmentations are never used for selection.

    .venv/bin/python training/augment.py --out runs/augment.csv
"""

from __future__ import annotations

import argparse
import csv
import random
import zlib
from collections import Counter
from pathlib import Path

from flagger.behaviour import OBFUSCATIONS, expand, load_suite, obfuscate
from flagger.labels import VECTOR_TO_CATEGORY

SUITE = Path(__file__).parent / "behaviour"

SLOTS: dict[str, list[str]] = {
    "W": [
        "ladies",
        "the female staff",
        "women drivers",
        "female colleagues",
        "the women in accounts",
        "female nurses",
        "women engineers",
        "female managers",
        "women in tech",
        "wives",
        "female students",
        "the girls in sales",
        "female doctors",
        "women bosses",
    ],
    "w": [
        "my manager Claire",
        "the receptionist",
        "Jess",
        "the new girl in finance",
        "that female doctor",
        "Fatima",
        "my supervisor",
        "the woman at the front desk",
        "our team lead Anna",
        "the head teacher",
        "Mrs Patel",
        "the new intern, Chloe,",
    ],
    "M": [
        "the lads",
        "male colleagues",
        "the men in accounts",
        "male nurses",
        "men in tech",
        "male managers",
        "husbands",
        "male students",
        "the guys in sales",
        "male doctors",
    ],
    "m": [
        "my manager Steve",
        "Dave",
        "the new guy in finance",
        "that male doctor",
        "Mr Jones",
        "our team lead Mark",
        "the caretaker",
        "Ahmed",
    ],
    "P": [
        "colleagues",
        "the managers",
        "the engineers",
        "the interns",
        "the drivers",
        "the nurses",
        "the students",
        "the volunteers",
        "the new hires",
        "the contractors",
    ],
    "p": [
        "my manager",
        "a colleague",
        "the new hire",
        "Sam",
        "Alex",
        "the consultant",
        "a bloke from IT",
        "the area manager",
    ],
    "bad": [
        "dumb",
        "hopeless",
        "unfit for the job",
        "brainless",
        "clueless",
        "lazy",
        "irrational",
        "dim",
        "a liability",
        "not capable of leading",
        "weaker than men",
        "idiots",
        "too hormonal to think straight",
    ],
    "good": [
        "smart",
        "dependable",
        "skilled",
        "impressive",
        "organised",
        "a credit to the team",
        "excellent leaders",
        "fantastic",
        "really experienced",
        "great to work with",
    ],
    "slur": ["bitch", "slut", "whore", "slag", "cunt", "hoe", "skank", "thot"],
    "things": [
        "toys",
        "possessions",
        "decorations",
        "kitchen appliances",
        "cattle",
        "sex objects",
        "trophies",
        "dogs",
        "baby factories",
    ],
    "st": [
        "women are bad at maths",
        "women should stay home and cook",
        "girls can't do science",
        "women belong with the children, not in the boardroom",
        "women talk too much to be taken seriously",
        "no woman can lead a team properly",
        "women get hired for diversity, not ability",
        "women just want to marry rich",
        "women can't keep a secret",
        "women are useless with technology",
        "a woman's job is to keep her husband happy",
    ],
    "thing": [
        "the new software",
        "this rota",
        "the printer",
        "the car park",
        "our wifi",
        "the canteen food",
        "this spreadsheet",
        "the new policy",
        "the train service",
        "the booking system",
    ],
    "swear": ["fuck", "shit", "bloody hell", "ffs", "goddammit", "christ", "bugger"],
    "event": [
        "the server crashed",
        "my laptop died",
        "the meeting overran",
        "I spilt my coffee",
        "the lift is broken",
        "the deadline moved",
        "traffic was awful",
        "the client cancelled",
    ],
}

# (label, vector or None, templates). Sexist templates name their EDOS vector.
TEMPLATES: list[tuple[str, str | None, list[str]]] = [
    (
        "sexist",
        "2.1 descriptive attacks",
        [
            "{W} are {bad}.",
            "All {W} are {bad}, no exceptions.",
            "Why are {W} always so {bad}?",
            "Seriously, {w} is {bad}, like every woman.",
            "Hiring {W} was a mistake, they're {bad}.",
            "{W} are {bad}, that's just a fact.",
        ],
    ),
    (
        "sexist",
        "2.2 aggressive and emotive attacks",
        [
            "I can't stand {W}, they make me sick.",
            "{W} are disgusting and I hate them.",
            "God I hate women like {w}.",
        ],
    ),
    (
        "sexist",
        "2.3 dehumanising attacks & overt sexual objectification",
        [
            "{W} are basically {things}.",
            "To me {W} are {things}, nothing more.",
            "{w} is just eye candy for the office.",
            "Women are {things} that talk.",
            "Treat {W} like {things} and they'll behave.",
        ],
    ),
    (
        "sexist",
        "3.1 casual use of gendered slurs, profanities, and insults",
        [
            "{w} is such a {slur}.",
            "Ugh, {w} is being a {slur} again.",
            "Stupid {slur}.",
            "Move, you {slur}.",
            "{w} the {slur} complained about me again.",
            "That {slur} {w} won't sign my timesheet.",
        ],
    ),
    (
        "sexist",
        "3.2 immutable gender differences and gender stereotypes",
        [
            "{st}.",
            "Everyone knows {st}.",
            "Facts: {st}.",
            "Sorry but {st}.",
        ],
    ),
    (
        "sexist",
        "3.3 backhanded gendered compliments",
        [
            "{w} is smart for a woman.",
            "Not bad at all, for a girl.",
            "{w} drives well for a woman.",
            "She's pretty good at maths, surprisingly, being a woman.",
        ],
    ),
    (
        "sexist",
        "3.4 condescending explanations or unwelcome advice",
        [
            "Let me explain it slowly for you, sweetheart, since it's technical.",
            "Don't worry your pretty little head about the budget, {w}.",
            "Smile more, love, nobody likes a miserable woman.",
        ],
    ),
    (
        "sexist",
        "1.1 threats of harm",
        [
            "I swear I'll hurt {w} if she grasses on me.",
            "{w} is going to get smacked one day.",
            "Keep talking, {w}, and see what happens to you.",
            "I know where {w} lives and she'll pay for this.",
        ],
    ),
    (
        "sexist",
        "1.2 incitement and encouragement of harm",
        [
            "{W} who talk back deserve a slap.",
            "Someone should beat some sense into {w}.",
            "Women like {w} need to be kept in line by force.",
            "Honestly a smack would do {w} good, women need discipline.",
        ],
    ),
    (
        "sexist",
        "4.2 supporting systemic discrimination against women as a group",
        [
            "We should stop hiring {W} altogether.",
            "{W} shouldn't be allowed to vote.",
            "Never promote a woman to manager.",
            "{W} don't deserve equal pay.",
        ],
    ),
    (
        "not sexist",
        None,
        [
            # negation and denial
            "{W} aren't {bad}.",
            "I refuse to believe {W} are {bad}.",
            "It's a myth that {st}.",
            "The idea that {W} are {bad} is rubbish.",
            "{W} are no more {bad} than anyone else.",
            "Stop pretending {W} are {bad}.",
            "Being a woman doesn't make {w} {bad}.",
            "Who says {W} are {bad}? Not me.",
            "Of course {W} aren't {bad}, what a ridiculous thing to say.",
            "I used to hear that {st}, but it's simply false.",
            # counter-speech
            "{p} reported {m} for saying {W} are {bad}.",
            "HR is investigating after {m} wrote that {st}.",
            "I pulled {m} up for calling {w} a {slur}. Not acceptable.",
            "{m} said '{st}' and I told him that's sexist.",
            "Complaint logged: {m} called {w} a {slur} during the meeting.",
            "Saying {W} are {bad} is exactly the misogyny we need to stamp out.",
            "I was shocked when {m} said {W} are {bad}. I've escalated it.",
            "If anyone calls a colleague a {slur} again it goes straight to a disciplinary.",
            "{w} told me {m} keeps saying {st}; I've advised her to report it.",
            "The tribunal found that {m} repeatedly called {w} a {slur}.",
            # neutral and positive mentions
            "{W} are {good}.",
            "{w} is {good}.",
            "{M} are {good}.",
            "{m} is {good}.",
            "{P} are {good}.",
            "{p} is {good}.",
            "Shout out to {w} for closing the deal.",
            "Shout out to {m} for closing the deal.",
            "Lunch with {W} on Friday, all welcome.",
            "{w} has been promoted to director, well deserved.",
            "My wife is a surgeon.",
            "The girls' netball team won the league.",
            "{W} organised the fundraiser this year.",
            "{M} organised the fundraiser this year.",
            "Ask {w} about the new process.",
            "Ask {m} about the new process.",
            # workplace with gendered words, other settings
            "{w} starts maternity leave next month.",
            "The nursery vouchers scheme reopens in May.",
            "The pregnancy support group meets on Tuesdays.",
            "Women's health clinic appointments are now bookable online.",
            "Female changing rooms are on the left.",
            "The women's mentoring lunch is at noon.",
            "Paternity leave requests go to the line manager.",
            "The ladies' toilets on floor 3 are being cleaned.",
            "Breast cancer awareness day: wear pink on Friday.",
            "The female ward needs two extra nurses tonight.",
            # profanity aimed at nothing, and insults aimed at things
            "{swear}, {event}.",
            "{swear}! {event} again.",
            "{event}, {swear}.",
            "{thing} is {bad}.",
            "Honestly {thing} is so {bad}.",
            "{thing} is a bloody disgrace.",
        ],
    ),
]

# Second round, aimed at what the first model still got wrong on the suite's capabilities
# (negation, counter-speech, implicit sexism, threats, objectification), in new wording.
TEMPLATES += [
    (
        "sexist",
        "2.3 dehumanising attacks & overt sexual objectification",
        [
            "Check out the legs on {w}, that's all she's good for.",
            "{w} is nothing but a nice pair of tits.",
            "{W} are just meat in skirts.",
            "{w} is only here so the clients have something to stare at.",
        ],
    ),
    (
        "sexist",
        "3.3 backhanded gendered compliments",
        [
            "{w} is decent at her job, considering she's female.",
            "{w} writes code almost as well as a man.",
        ],
    ),
    (
        "sexist",
        "3.4 condescending explanations or unwelcome advice",
        [
            "Leave the heavy lifting to the men, darling, you make the coffee.",
            "Stick to the admin, {w}, the technical stuff is for the blokes.",
        ],
    ),
    (
        "sexist",
        "4.1 supporting mistreatment of individual women",
        [
            "{w} only got the job because she's female.",
            "{w} was promoted to fill a quota, not on merit, obviously.",
            "{w} should be at home with the kids instead of working.",
            "{w} deserved the harassment, dressing like that.",
        ],
    ),
    (
        "sexist",
        "1.1 threats of harm",
        [
            "If {w} goes to HR about me I'll smash her face in.",
            "I know what time {w} finishes, she'll get what's coming to her.",
            "{w} had better watch her back walking to the car tonight.",
        ],
    ),
    (
        "sexist",
        "1.2 incitement and encouragement of harm",
        [
            "It's fine to hit your wife when she won't listen.",
            "Women who report their bosses deserve to be assaulted.",
        ],
    ),
    (
        "not sexist",
        None,
        [
            "{W} are not {bad}.",
            "{W} are not {bad} at all.",
            "{w} is not {bad}.",
            "I disagree that {W} are {bad}.",
            "Nobody seriously believes {W} are {bad}.",
            "There is nothing {bad} about {W}.",
            "It is untrue that {st}.",
            "It isn't true that {W} are {bad}.",
            "{W} are certainly not {bad}.",
            "I don't believe for a second that {st}.",
            "{w} isn't {bad}, she's our best engineer.",
            "{W} are in no way weaker than men.",
            "No, {W} are not {bad}.",
            "I'm reporting {m} for calling {w} a {slur} at the Christmas party.",
            "{m} called {w} a {slur} and it has been escalated to HR.",
            "Calling women {slur}s is never acceptable and will be reported.",
            "Using the word {slur} about a colleague is gross misconduct.",
            "FYI {m} referred to {w} as a {slur} in the team chat. I've screenshotted it for HR.",
            "Heard {m} saying {W} are {bad}; I've put in a formal complaint.",
            "{m} told the new starters that {st}. That's discrimination and I'm raising it.",
            "Can we address {m} calling {w} a {slur}? It's harassment, not a joke.",
        ],
    ),
]

PER_TEMPLATE = 20
OBFUSCATED_SHARE = 0.35  # of sexist rows, also written disguised; some neutral rows too


def generate(seed: int = 7) -> list[dict[str, str]]:
    """Every augmentation row, with EDOS labels, minus any text that is a suite case."""
    rng = random.Random(seed)
    suite = {case.text.lower() for case in load_suite(SUITE)}
    rows: list[dict[str, str]] = []
    for label, vector, templates in TEMPLATES:
        for template in templates:
            for text in expand(template, SLOTS, PER_TEMPLATE, "augment"):
                rows.append(_row(text, label, vector))
                if rng.random() < (OBFUSCATED_SHARE if vector else 0.1):
                    op = rng.choice(sorted(OBFUSCATIONS))
                    rows.append(_row(_disguise(text, op, rng), label, vector))
    unique = {r["text"].lower(): r for r in rows if r["text"].lower() not in suite}
    return list(unique.values())


def _disguise(text: str, op: str, rng: random.Random) -> str:
    """Disguise one of the longer words of ``text``."""
    words = text.split(" ")
    long_words = [i for i, w in enumerate(words) if len(w) >= 4] or [0]
    at = rng.choice(long_words)
    words[at] = obfuscate(words[at], op, rng)
    return " ".join(words)


def _row(text: str, label: str, vector: str | None) -> dict[str, str]:
    return {
        "rewire_id": f"augment-{zlib.crc32(text.encode()):010d}",
        "text": text,
        "label_sexist": label,
        "label_category": VECTOR_TO_CATEGORY[vector] if vector else "none",
        "label_vector": vector or "none",
        "split": "train",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rows = generate(args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    counts = Counter(r["label_sexist"] for r in rows)
    print(f"wrote {len(rows)} rows to {args.out}: {dict(counts)}")


if __name__ == "__main__":
    main()
