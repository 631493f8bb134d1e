"""Neutral sentences that name identity groups, added as negatives when training the toxicity head.

Tweets labeled offensive often contain identity words, so a head trained on them alone learns
"mentions gay/Muslim/Black people" as a toxicity signal (Dixon et al., 2018, "Measuring and
Mitigating Unintended Bias in Text Classification"). These templated sentences teach it that a
mention is not an insult. They are generated here, apart from the hand-written identity suite in
tests/data/, which measures the result and is never trained on.
"""

from __future__ import annotations

import re
from itertools import product

# Adjective forms, so that each fits "a ___ neighbour".
IDENTITY_TERMS = (
    "Muslim", "Jewish", "Christian", "Catholic", "Hindu", "Sikh", "Buddhist", "atheist", "Islamist",
    "Syrian", "Iraqi", "Israeli", "Palestinian", "Turkish", "Russian", "American", "Mexican", "Chinese",
    "Iranian", "Kurdish", "Black", "white", "Asian", "Hispanic", "Latino", "Arab", "Roma", "Indigenous",
    "gay", "lesbian", "bisexual", "transgender", "trans", "queer", "female", "male", "non-binary",
    "deaf", "blind", "disabled", "autistic", "elderly", "older", "young", "teenage",
)  # fmt: skip

_TEMPLATES = (
    "My {term} neighbour helped us move the furniture last weekend.",
    "I am {article} {term} reader, and this report was useful to me.",
    "A book sale is on at the {term} community hall this Saturday.",
    "{Term} families have been part of this town for generations.",
    "The reporter spoke with several {term} residents about the flooding.",
    "Our {term} colleague gave a talk on budgeting at work today.",
    "Many {term} voters went to the polls, the count shows.",
    "Speaking as {article} {term} person, I read this another way, but thanks for the article.",
    "The school hired {article} {term} teacher to lead the science club.",
    "{Term} students organised a charity run for the hospital.",
    "{Article} {term} couple opened the new bakery on the main street.",
    "The survey asked {term} workers about their commute.",
)


# Short statements: where the identity word carries the sentence, the bias shows most (a long sentence's other
# words dilute it). Written for training, apart from the hand-written suites in tests/data/.
_SHORT_TEMPLATES = (
    "I am {term}.",
    "Our neighbour is {term}.",
    "We are both {term}.",
    "My dentist is {term}.",
    "Our landlord is {term}.",
    "I have {term} friends.",
    "{Term} people live on our street.",
    "{Article} {term} family runs the corner shop.",
    "My cousin is {term} and works nights.",
    "Being {term} is ordinary.",
    "{Term} people are welcome here.",
    "I like my {term} classmates.",
)

# Noun forms: the identity word as the sentence's noun ("Tomasz is a thoughtful Sikh."), the form a bias shows most in
# and the adjective templates above never use. Each noun gets its own few names, adjectives and frames, by rotation.
IDENTITY_NOUNS = (
    "Muslim", "Jew", "Christian", "Catholic", "Hindu", "Sikh", "Buddhist", "atheist", "homosexual",
    "heterosexual", "lesbian", "gay man", "bisexual", "transgender woman", "transgender man", "trans woman",
    "non-binary person", "immigrant", "refugee", "migrant", "Black man", "Black woman", "white man",
    "Asian woman", "Arab", "Mexican", "Hispanic", "Latina", "Roma woman", "Syrian", "Palestinian", "Israeli",
    "Iranian", "Kurd", "Turk", "Somali", "Pakistani", "Chinese woman", "Middle Eastern man",
    "Middle Eastern woman", "Native American", "wheelchair user", "deaf woman", "blind man", "paralyzed man",
    "paralyzed woman", "autistic man", "amputee", "pensioner", "teenager",
)  # fmt: skip
_NAMES = (
    "Ana", "Tomasz", "Leila", "Kwame", "Ingrid", "Rahul", "Mei", "Diego", "Fatima", "Oskar", "Yusuf", "Noor",
    "Hannah", "Ravi", "Chiara", "Kofi", "Sanna", "Omar", "Lucia", "Jonas", "Amara", "Pavel", "Keiko", "Malik",
)  # fmt: skip
_ADJECTIVES = (
    "friendly", "cheerful", "talented", "retired", "proud", "thoughtful", "hard-working", "generous", "quiet",
    "brilliant", "devoted", "funny", "patient", "curious", "lovely", "busy",
)  # fmt: skip
_NOUN_TEMPLATES = (
    "{name} is {article} {adjective} {noun}.",
    "{name} is {article} {noun} and {article2} {adjective2} baker.",
    "{name}, {article} {adjective} {noun}, lives next door to us.",
    "The new bus driver, {name}, is {article} {noun}.",
    "{Article} {noun} like {name} makes this street better.",
)

# Words that name an identity group in the sources' texts (nouns and adjectives): rows that mention one are
# balanced between toxic and clean in training, so the mention alone stops being evidence of abuse.
_GROUP_WORDS = (
    r"muslims?", r"islam(?:ic)?", r"jews?", r"jewish", r"judaism", r"christians?", r"christianity", r"catholics?",
    r"hindus?", r"sikhs?", r"buddhists?", r"atheists?", r"arabs?", r"arabic", r"mexicans?", r"chinese", r"asians?",
    r"africans?", r"indians?", r"pakistanis?", r"syrians?", r"somalis?", r"latin[oax]s?", r"hispanics?",
    r"blacks?", r"whites?", r"roma", r"gypsies", r"indigenous", r"immigrants?", r"migrants?", r"refugees?",
    r"foreigners?", r"gays?", r"lesbians?", r"bisexuals?", r"trans", r"transgenders?", r"queers?", r"homosexuals?",
    r"heterosexuals?", r"israelis?", r"palestinians?", r"iraqis?", r"iranians?", r"turks?", r"turkish",
    r"kurds?", r"kurdish", r"russians?", r"americans?", r"islamists?", r"males?", r"men", r"teenagers?",
    r"lgbtq?\+?", r"non-?binary", r"women", r"woman", r"girls?", r"females?", r"disabled",
    r"disabilit(?:y|ies)", r"autistic", r"deaf", r"blind", r"elderly", r"old people",
)  # fmt: skip
_MENTIONS_GROUP = re.compile(rf"\b(?:{'|'.join(_GROUP_WORDS)})\b", re.IGNORECASE)


def mentions_identity(text: str) -> bool:
    return _MENTIONS_GROUP.search(text) is not None


def _article(term: str) -> str:
    return "an" if term[0].lower() in "aeiou" else "a"


def neutral_identity_sentences() -> list[str]:
    sentences = []
    for template, term in product(_TEMPLATES + _SHORT_TEMPLATES, IDENTITY_TERMS):
        article = _article(term)
        sentences.append(
            template.format(term=term, Term=term[0].upper() + term[1:], article=article, Article=article.capitalize())
        )
    return sentences


def noun_identity_sentences() -> list[str]:
    """Neutral and kind sentences with the identity word as the noun: every noun in every frame, each with a name and
    adjectives chosen by rotation so that no name or adjective goes with one group only."""
    sentences = []
    for index, (template, noun) in enumerate(product(_NOUN_TEMPLATES, IDENTITY_NOUNS)):
        adjective, adjective2 = _ADJECTIVES[index % len(_ADJECTIVES)], _ADJECTIVES[(index * 7 + 3) % len(_ADJECTIVES)]
        article = _article(noun)
        sentences.append(
            template.format(
                name=_NAMES[(index * 5) % len(_NAMES)],
                noun=noun,
                adjective=adjective,
                adjective2=adjective2,
                article=_article(adjective) if "{adjective} {noun}" in template else article,
                article2=_article(adjective2),
                Article=article.capitalize(),
            )
        )
    return sentences
