"""Contrasting training sentences: a hateful claim beside its negation and its rejection, a threat beside a harmless
promise of the same shape.

The sources hold few rows where the words of hate appear and the sentence is not hateful ("I have nothing against
Kurds", "calling refugees parasites is bigotry"), and few threats without a swear word, so a model learns "hate word
plus group word" as abuse and "kill" as obscenity. Each frame here is written once per group and comes in pairs that
differ only where the meaning does, so what separates them is the negation, the quotation or the verb, not the
register (Dixon et al., 2018; Kirk et al., 2022). Training rows only, apart from the hand-written suites in
tests/data/, which measure the result and are kept out of training.
"""

from __future__ import annotations

from collections.abc import Iterator

from service.toxicity_data import Labels, clean_labels, known_labels

# Plural forms, so that each fits "___ are ...".
GROUPS = (
    "Muslims", "Jews", "Christians", "Catholics", "Hindus", "Sikhs", "Buddhists", "atheists", "Syrians", "Iraqis",
    "Israelis", "Palestinians", "Turks", "Russians", "Americans", "Mexicans", "Chinese people", "Iranians", "Kurds",
    "Black people", "white people", "Asians", "Hispanics", "Arabs", "Roma", "Indigenous people", "gay people",
    "lesbians", "bisexual people", "trans people", "queer people", "women", "men", "non-binary people", "deaf people",
    "blind people", "disabled people", "autistic people", "old people", "immigrants", "refugees", "migrants",
)  # fmt: skip

# Cycled against the groups: each group gets one of these nouns and one group threat, and the groups share them out.
_SLURS_OF_KIND = ("parasites", "animals", "rats", "a plague", "scum", "savages", "trash", "a cancer", "filth")
_HATEFUL = (
    "{G} are {noun}.",
    "Honestly, {g} are {noun} and everyone knows it.",
    "I loathe {g}.",
    "{G} disgust me.",
    "{G} should be thrown out of this country.",
    "{G} are worth less than other people.",
)
_NEGATED = (
    "{G} are not {noun}.",
    "Honestly, {g} are not {noun} and everyone knows it.",
    "I have nothing against {g}.",
    "{G} do not disgust me.",
    "{G} should never be thrown out of this country.",
    "{G} are worth as much as anyone.",
)
_REJECTED = (
    "Saying {g} are {noun} is bigotry.",
    "Whoever wrote that {g} are {noun} should be ashamed.",
    "Writing that you loathe {g} is plain prejudice.",
    "It is cruel to say {g} disgust you.",
    "Demanding that {g} be thrown out of this country is hateful nonsense.",
    "People who claim {g} are worth less are spreading hate.",
)

# Threats against a person: what is promised is harm, and the paired sentence promises something harmless.
_HARMS = ("hurt", "kill", "stab", "shoot", "strangle", "punch", "choke", "bury")
_HARMLESS = ("help", "call", "thank", "visit", "email", "meet", "pay", "drive")
_PERSON_FRAMES = (
    "I am going to {verb} you.",
    "I will {verb} you tonight.",
    "Keep posting and I will {verb} you.",
    "Tomorrow I'll come and {verb} you.",
    "Wait until I {verb} you next week.",
)
_GROUP_THREATS = (
    "Someone should shoot all the {g}.",
    "We will burn down every home of the {g}.",
    "The {g} in this town will be hunted down.",
    "I want every one of the {g} dead.",
)


def _fill(frame: str, group: str, noun: str) -> str:
    text = frame.format(g=group, G=group[0].upper() + group[1:], noun=noun)
    return text[0].upper() + text[1:]


def contrast_rows() -> Iterator[tuple[str, Labels]]:
    """Hateful rows (toxicity and identity attack), their negations and rejections (clean), threats against a person
    (toxicity and threat), the harmless promises of the same frames (clean), and threats against a group (all three).
    Categories a sentence says nothing about (obscene, sexual) are left unknown on the abusive rows."""
    for index, group in enumerate(GROUPS):
        noun = _SLURS_OF_KIND[index % len(_SLURS_OF_KIND)]
        for hateful, negated, rejected in zip(_HATEFUL, _NEGATED, _REJECTED, strict=True):
            yield (_fill(hateful, group, noun), known_labels(toxicity=1.0, identity_attack=1.0))
            yield (_fill(negated, group, noun), clean_labels())
            yield (_fill(rejected, group, noun), clean_labels())
        threat = _GROUP_THREATS[index % len(_GROUP_THREATS)]
        yield (_fill(threat, group, noun), known_labels(toxicity=1.0, threat=1.0, identity_attack=1.0))
    for frame in _PERSON_FRAMES:
        for harm, harmless in zip(_HARMS, _HARMLESS, strict=True):
            yield (frame.format(verb=harm), known_labels(toxicity=1.0, threat=1.0))
            yield (frame.format(verb=harmless), clean_labels())
