"""Contrasting training sentences: a hateful claim beside its negation and its rejection, a threat beside a harmless
promise of the same shape, a sly slur on a group beside a kind word in the same frame.

The sources hold few rows where the words of hate appear and the sentence is not hateful ("I bear no grudge against
Kurds", "calling refugees parasites is bigotry"), few threats without a swear word, and few put-downs without a hate
word, so a model learns "hate word plus group word" as abuse and "kill" as obscenity. Each frame here is written once
per group and comes in pairs that differ only where the meaning does, so what separates them is the negation, the
quotation or the verb, not the register (Dixon et al., 2018; Kirk et al., 2022). Some hateful claims come again with
the group and the slur disguised (digits for letters, spaced or dotted letters), each beside its negation disguised
alike, so that the disguise is read through and is not itself the signal. Training rows only; the hand-written
suites in tests/data/ measure the result and are kept out of training (`toxicity_training.load_rows` drops any of
these rows that shares a run of words with them).
"""

from __future__ import annotations

from collections.abc import Iterator

from service.toxicity_data import Labels, clean_labels

# Plural forms, so that each fits "___ are ...".
GROUPS = (
    "Muslims", "Jews", "Christians", "Catholics", "Hindus", "Sikhs", "Buddhists", "atheists", "Syrians", "Iraqis",
    "Israelis", "Palestinians", "Turks", "Russians", "Americans", "Mexicans", "Chinese people", "Iranians", "Kurds",
    "Black people", "white people", "Asians", "Hispanics", "Arabs", "Roma", "Indigenous people", "gay people",
    "lesbians", "bisexual people", "trans people", "queer people", "women", "men", "non-binary people", "deaf people",
    "blind people", "disabled people", "autistic people", "old people", "immigrants", "refugees", "migrants",
)  # fmt: skip

# Each list is cycled against the groups, so every group meets several of its entries.
_SLURS_OF_KIND = ("parasites", "animals", "rats", "a plague", "scum", "savages", "trash", "a cancer", "filth")
_HATEFUL = (
    "{G} are {noun}.",
    "Honestly, {g} are {noun} and everyone knows it.",
    "I loathe {g}.",
    "{G} disgust me.",
    "{G} should be thrown out of the country.",
    "{G} are worth less than other people.",
)
_NEGATED = (
    "{G} are not {noun}.",
    "Honestly, {g} are not {noun} and everyone knows it.",
    "I bear no grudge against {g}.",
    "{G} do not disgust me.",
    "{G} should never be thrown out of the country.",
    "{G} are worth as much as anyone.",
)
_REJECTED = (
    "Saying {g} are {noun} is bigotry.",
    "Whoever wrote that {g} are {noun} should be ashamed.",
    "Writing that you loathe {g} is plain prejudice.",
    "It is cruel to say {g} disgust you.",
    "Demanding that {g} be thrown out of the country is hateful nonsense.",
    "People who claim {g} are worth less are spreading hate.",
)
# The hateful claims (by index in _HATEFUL) that come again disguised, each with its negation disguised alike.
_DISGUISED = (0, 1, 3)

# Put-downs that carry no hate word: the hateful frame and its kind twin share everything but the sly part.
_SLY = (
    ("Typical {g}, always on the take.", "Typical {g}, always the first to lend a hand."),
    (
        "I would never rent my flat to {g}, we all know what they are like.",
        "I would gladly rent my flat to {g}, they have been lovely tenants.",
    ),
    ("Wherever {g} settle, crime follows.", "Wherever {g} settle, good bakeries follow."),
    ("Amazing that {g} managed a job like that without help.", "Great that {g} got the credit for a job like that."),
    (
        "Our school has too many {g} now, they drag everyone down.",
        "Our school has many {g} now, they lift everyone up.",
    ),
    (
        "Keep a hand on your purse when {g} are around.",
        "Keep an eye out for {g} at the fair, they run the best stalls.",
    ),
    ("{G} are fine as long as they keep to their own part of town.", "{G} are fine neighbours in any part of town."),
    ("It is always {g} behind this kind of thing, isn't it.", "It is never fair to blame {g} for this kind of thing."),
)
_SLY_PER_GROUP = 3

# Threats: what is promised is harm, and the paired sentence promises something harmless.
_HARMS = ("hurt", "kill", "stab", "shoot", "strangle", "punch", "choke", "bury")
_HARMLESS = ("help", "call", "thank", "visit", "email", "meet", "pay", "drive")
_PERSON_FRAMES = (
    "I am going to {verb} you.",
    "I will {verb} you tonight.",
    "Keep posting and I will {verb} you.",
    "Tomorrow I'll come and {verb} you.",
    "Wait until I {verb} you next week.",
)
_GROUP_HARMS = ("shoot", "hang", "burn", "exterminate", "bomb", "slaughter", "stab", "butcher")
_GROUP_HARMLESS = ("thank", "house", "feed", "celebrate", "visit", "welcome", "hug", "greet")
_GROUP_FRAMES = (
    "Someone should {verb} all the {g}.",
    "We are coming to {verb} the {g} on our street.",
    "I would gladly {verb} every last one of the {g} myself.",
    "Tonight we {verb} the {g} who live near the station.",
    "Let's {verb} the {g} before the weekend is over.",
    "Our group plans to {verb} the {g} at the market.",
)
_GROUP_FRAMES_PER_GROUP = 3

# Disguises a commenter uses to slip a word past a filter; the first letter is kept so the word stays readable.
_LEET = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "$"})


def disguise(word: str, style: int) -> str:
    """`word` spelt as a commenter hiding it might: digits for letters, spaced letters, a dot inside, or a letter
    dropped (style taken modulo 4)."""
    head, tail = word[:1], word[1:]
    match style % 4:
        case 0:
            return head + tail.translate(_LEET)
        case 1:
            return " ".join(word)
        case 2:
            return word[: len(word) // 2] + "." + word[len(word) // 2 :]
        case _:
            vowels = [i for i, c in enumerate(word) if c in "aeiou" and i > 0]
            return word if not vowels else word[: vowels[-1]] + word[vowels[-1] + 1 :]


def _disguised(group: str, noun: str, style: int) -> tuple[str, str]:
    """The group's first word and the slur's last word disguised ("gay people" -> "g4y people")."""
    first, _, rest = group.partition(" ")
    *article, last = noun.split(" ")
    return (
        " ".join([disguise(first, style), *([rest] if rest else [])]),
        " ".join([*article, disguise(last, style + 1)]),
    )


def _fill(frame: str, group: str, noun: str = "") -> str:
    text = frame.format(g=group, G=group[0].upper() + group[1:], noun=noun)
    return text[0].upper() + text[1:]


def _labels(**known: float) -> Labels:
    """No frame swears or speaks of sex, so those are known to be 0; what a frame does not settle (insult, severity)
    stays unknown."""
    return {category: known.get(category) for category in clean_labels()} | {"obscene": 0.0, "sexual_explicit": 0.0}


_HATE = _labels(toxicity=1.0, identity_attack=1.0, threat=0.0)
_GROUP_THREAT = _labels(toxicity=1.0, identity_attack=1.0, threat=1.0)
_PERSON_THREAT = _labels(toxicity=1.0, threat=1.0, identity_attack=0.0)  # "you" names no group


def contrast_rows() -> Iterator[tuple[str, Labels]]:
    """Hateful rows (toxicity and identity attack, no threat), their negations and rejections (clean), some of both
    again disguised, sly put-downs (as hateful) beside kind twins (clean), threats against a group (all three) and
    against a person (toxicity and threat, no identity attack), each beside the harmless promise of its frame."""
    for index, group in enumerate(GROUPS):
        noun = _SLURS_OF_KIND[index % len(_SLURS_OF_KIND)]
        for hateful, negated, rejected in zip(_HATEFUL, _NEGATED, _REJECTED, strict=True):
            yield (_fill(hateful, group, noun), dict(_HATE))
            yield (_fill(negated, group, noun), clean_labels())
            yield (_fill(rejected, group, noun), clean_labels())
        for turn, claim in enumerate(_DISGUISED):
            hidden_group, hidden_noun = _disguised(group, noun, index + turn)
            yield (_fill(_HATEFUL[claim], hidden_group, hidden_noun), dict(_HATE))
            yield (_fill(_NEGATED[claim], hidden_group, hidden_noun), clean_labels())
        for turn in range(_SLY_PER_GROUP):
            sly, kind = _SLY[(index + turn * 3) % len(_SLY)]
            yield (_fill(sly, group), dict(_HATE))
            yield (_fill(kind, group), clean_labels())
        for turn in range(_GROUP_FRAMES_PER_GROUP):
            frame = _GROUP_FRAMES[(index + turn * 2) % len(_GROUP_FRAMES)]
            verb = (index + turn) % len(_GROUP_HARMS)
            yield (_fill(frame.replace("{verb}", _GROUP_HARMS[verb]), group), dict(_GROUP_THREAT))
            yield (_fill(frame.replace("{verb}", _GROUP_HARMLESS[verb]), group), clean_labels())
    for frame in _PERSON_FRAMES:
        for harm, harmless in zip(_HARMS, _HARMLESS, strict=True):
            yield (frame.format(verb=harm), dict(_PERSON_THREAT))
            yield (frame.format(verb=harmless), clean_labels())
