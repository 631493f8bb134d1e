"""Contrasting training sentences: a hateful claim beside its negation and its rejection, a threat beside a harmless
promise of the same shape, a sly slur on a group beside a kind word in the same frame.

The sources hold few rows where the words of hate appear and the sentence is not hateful ("I bear no grudge against
Kurds", "calling refugees parasites is bigotry"), few threats without a swear word, and few put-downs without a hate
word, so a model learns "hate word plus group word" as abuse and "kill" as obscenity. Each frame here is written once
per group and comes in pairs that differ only where the meaning does, so what separates them is the negation, the
quotation or the verb, not the register (Dixon et al., 2018; Kirk et al., 2022). Some hateful claims come again with
the group and the slur disguised (digits for letters, spaced or dotted letters), each beside its negation disguised
alike, so that the disguise is read through and is not itself the signal. Training rows only; the hand-written
suites in tests/data/ measure the result and are kept out of training (`toxicity_training.written_rows` drops any of
these rows that shares a run of words with them).
"""

from __future__ import annotations

from collections.abc import Iterator

from modelling.toxicity_data import Labels, clean_labels, known_labels

# Plural forms, so that each fits "___ are ...".
GROUPS = (
    "Muslims", "Jews", "Christians", "Catholics", "Hindus", "Sikhs", "Buddhists", "atheists", "Syrians", "Iraqis",
    "Israelis", "Palestinians", "Turks", "Russians", "Americans", "Mexicans", "Chinese people", "Iranians", "Kurds",
    "Black people", "white people", "Asians", "Hispanics", "Arabs", "Roma", "Indigenous people", "gay people",
    "lesbians", "bisexual people", "trans people", "queer people", "women", "men", "non-binary people", "deaf people",
    "blind people", "disabled people", "autistic people", "old people", "immigrants", "refugees", "migrants",
)  # fmt: skip

# Each list is cycled against the groups, so every group meets several of its entries.
_SLURS_OF_KIND = (
    "parasites", "animals", "rats", "a plague", "scum", "savages", "trash", "a cancer", "filth", "cockroaches",
    "vermin", "leeches", "pigs", "a disease", "insects", "subhuman",
)  # fmt: skip
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
    "{G} are worth as much as other people.",
)
_REJECTED = (
    "Saying {g} are {noun} is bigotry.",
    "Whoever wrote that {g} are {noun} should be ashamed.",
    "Writing that you loathe {g} is plain prejudice.",
    "It is cruel to say {g} disgust you.",
    "Demanding that {g} be thrown out of the country is hateful nonsense.",
    "People who claim {g} are worth less are spreading hate.",
)
# Hateful claims that carry a negation, each beside a clean twin: "not" and "no" must not read as clean by
# themselves.
_NEGATIVE_HATE = (
    ("{G} are not real citizens and never will be.", "{G} are real citizens like everyone else."),
    ("{G} have no right to live among decent people.", "{G} have every right to live among us."),
    ("Nobody should ever hire {g}.", "Nobody should ever refuse to hire {g}."),
)
# The frames that reject a claim, turned to endorse it: the report frame alone must not read as clean.
_ENDORSED = (
    ("Saying {g} are {noun} is just honest.", "Saying {g} are {noun} is just wrong."),
    ("Whoever wrote that {g} are {noun} got it right.", "Whoever wrote that {g} are {noun} got it wrong."),
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
    ("Wherever {g} settle, crime follows.", "Wherever {g} settle, they are welcome."),
    ("Amazing that {g} managed a job like that without help.", "Well done to the {g} who pulled off a job like that."),
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
_HARMLESS = ("help", "call", "thank", "applaud", "forgive", "hear", "pay", "praise")
_PERSON_FRAMES = (
    "I am going to {verb} you.",
    "I will {verb} you tonight.",
    "Post that once more and I will {verb} you.",
    "Tomorrow I'll come and {verb} you.",
    "Wait until I {verb} you next week.",
)
_GROUP_HARMS = ("shoot", "hang", "burn", "exterminate", "bomb", "slaughter", "stab", "butcher")
_GROUP_HARMLESS = ("thank", "help", "feed", "celebrate", "applaud", "welcome", "hug", "greet")
_GROUP_FRAMES = (
    "Someone should {harm} all the {g}.",
    "We are coming to {harm} the {g} on our street.",
    "I would gladly {harm} every last one of the {g} myself.",
    "Tonight we {harm} the {g} who live near the station.",
    "Let's {harm} the {g} before the weekend is over.",
    "Our group plans to {harm} the {g} at the market.",
)
_GROUP_FRAMES_PER_GROUP = 3
# Each threat against a group also comes rejected, so a harm verb beside a group is not abuse by itself.
_THREAT_REJECTED = "Anyone calling on people to {harm} the {g} ought to be reported to the police."
# Threats put as what a group deserves, with no one named to carry them out: each harm has a harmless twin of as many
# words, so the pair still differs in the harm alone.
_NORMATIVE_HARMS = (
    "be shot", "be burned alive", "be stabbed", "be tortured", "be strung up", "be locked up and starved",
    "be killed off", "be poisoned",
)  # fmt: skip
_NORMATIVE_HARMLESS = (
    "be thanked", "be welcomed warmly", "be hired", "be welcomed", "be cheered on", "be given a fair hearing",
    "be heard out", "be promoted",
)  # fmt: skip
_NORMATIVE_FRAMES = (
    "{G} should {harm}.",
    "{G} deserve to {harm}.",
    "Honestly, the {g} ought to {harm}.",
    "The {g} around here should all {harm}.",
)
_NORMATIVE_FRAMES_PER_GROUP = 2
_NORMATIVE_REJECTED = "Nobody has the right to say that {g} should {harm}."

# Disguises a commenter uses to slip a word past a filter; the first letter is kept so the word stays readable.
_LEET = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "$"})


def disguise(word: str, style: int) -> str:
    """`word` spelt as a commenter hiding it might: digits for letters, spaced letters, a dot inside, or a vowel
    dropped from a long word (style taken modulo 4); spaced letters where the others would leave it as it is."""
    head, tail = word[:1], word[1:]
    vowels = [i for i, c in enumerate(word) if c in "aeiou" and i > 0]
    match style % 4:
        case 0:
            hidden = head + tail.translate(_LEET)
        case 2:
            hidden = word[: len(word) // 2] + "." + word[len(word) // 2 :]
        case 3 if len(word) >= 6 and vowels:  # a short word less a letter reads as another word ("def", "Iraqs")
            hidden = word[: vowels[-1]] + word[vowels[-1] + 1 :]
        case _:
            hidden = " ".join(word)
    return hidden if hidden != word else " ".join(word)


def _disguised(group: str, noun: str, style: int) -> tuple[str, str]:
    """The group's first word and the slur's last word disguised ("gay people" -> "g4y people")."""
    first, _, rest = group.partition(" ")
    *article, last = noun.split(" ")
    return (
        " ".join([disguise(first, style), *([rest] if rest else [])]),
        " ".join([*article, disguise(last, style + 1)]),
    )


def _noun(index: int) -> str:
    """The slur of kind the group at `index` of GROUPS meets in its claims."""
    return _SLURS_OF_KIND[index % len(_SLURS_OF_KIND)]


def _disguised_claims(index: int, group: str, noun: str) -> Iterator[tuple[str, str]]:
    for turn, claim in enumerate(_DISGUISED):
        hidden_group, hidden_noun = _disguised(group, noun, index + turn)
        yield _fill(_HATEFUL[claim], hidden_group, hidden_noun), _fill(_NEGATED[claim], hidden_group, hidden_noun)


def disguised_claims() -> Iterator[tuple[str, str]]:
    """Each disguised hateful claim of `contrast_rows` with its negation, disguised alike."""
    for index, group in enumerate(GROUPS):
        yield from _disguised_claims(index, group, _noun(index))


def _fill(frame: str, group: str, noun: str = "") -> str:
    text = frame.format(g=group, G=group[0].upper() + group[1:], noun=noun)
    return text[0].upper() + text[1:]


def _labels(**known: float) -> Labels:
    """No frame swears or speaks of sex, so those are known to be 0; what a frame does not settle (insult, severity)
    stays unknown."""
    return known_labels(**known, obscene=0.0, sexual_explicit=0.0)


_HATE = _labels(toxicity=1.0, identity_attack=1.0, threat=0.0)
_GROUP_THREAT = _labels(toxicity=1.0, identity_attack=1.0, threat=1.0)
_PERSON_THREAT = _labels(toxicity=1.0, threat=1.0, identity_attack=0.0)  # "you" names no group


ContrastSet = tuple[tuple[str, Labels], ...]


def _group_threat(frame: str, rejection: str, harm: str, harmless: str, group: str) -> ContrastSet:
    """A threat against `group` beside the harmless promise of its frame and the threat rejected."""
    return (
        (_fill(frame.replace("{harm}", harm), group), dict(_GROUP_THREAT)),
        (_fill(frame.replace("{harm}", harmless), group), clean_labels()),
        (_fill(rejection.replace("{harm}", harm), group), clean_labels()),
    )


def contrast_sets() -> Iterator[ContrastSet]:
    """The rows in the sets they were written in: an abusive sentence and its clean twins, trained on together or not
    at all (a set missing its twin would teach the words, not the difference).

    Hateful claims (toxicity and identity attack, no threat) with their negations and rejections (clean), some of
    them disguised, claims that carry a negation, the rejecting frames turned to endorse, sly put-downs beside kind
    twins; threats against a group (all three), spoken as a plan or as what the group deserves, and threats against a
    person (toxicity and threat, no identity attack), each beside the harmless promise of its frame and, for a group,
    its rejection."""
    for index, group in enumerate(GROUPS):
        noun = _noun(index)
        for hateful, negated, rejected in zip(_HATEFUL, _NEGATED, _REJECTED, strict=True):
            yield (
                (_fill(hateful, group, noun), dict(_HATE)),
                (_fill(negated, group, noun), clean_labels()),
                (_fill(rejected, group, noun), clean_labels()),
            )
        for hateful, negated in _disguised_claims(index, group, noun):
            yield ((hateful, dict(_HATE)), (negated, clean_labels()))
        hateful, clean = _NEGATIVE_HATE[index % len(_NEGATIVE_HATE)]
        yield ((_fill(hateful, group), dict(_HATE)), (_fill(clean, group), clean_labels()))
        endorsed, rejected = _ENDORSED[index % len(_ENDORSED)]
        yield ((_fill(endorsed, group, noun), dict(_HATE)), (_fill(rejected, group, noun), clean_labels()))
        for turn in range(_SLY_PER_GROUP):
            sly, kind = _SLY[(index + turn * 3) % len(_SLY)]
            yield ((_fill(sly, group), dict(_HATE)), (_fill(kind, group), clean_labels()))
        for turn in range(_GROUP_FRAMES_PER_GROUP):
            frame = _GROUP_FRAMES[(index + turn * 2) % len(_GROUP_FRAMES)]
            verb = (index + turn) % len(_GROUP_HARMS)
            yield _group_threat(frame, _THREAT_REJECTED, _GROUP_HARMS[verb], _GROUP_HARMLESS[verb], group)
        for turn in range(_NORMATIVE_FRAMES_PER_GROUP):
            frame = _NORMATIVE_FRAMES[(index + turn) % len(_NORMATIVE_FRAMES)]
            pick = (index * _NORMATIVE_FRAMES_PER_GROUP + turn) % len(_NORMATIVE_HARMS)
            yield _group_threat(frame, _NORMATIVE_REJECTED, _NORMATIVE_HARMS[pick], _NORMATIVE_HARMLESS[pick], group)
    for frame in _PERSON_FRAMES:
        for harm, harmless in zip(_HARMS, _HARMLESS, strict=True):
            yield ((frame.format(verb=harm), dict(_PERSON_THREAT)), (frame.format(verb=harmless), clean_labels()))


def contrast_rows() -> Iterator[tuple[str, Labels]]:
    """Every row of `contrast_sets`, one by one."""
    for written in contrast_sets():
        yield from written
