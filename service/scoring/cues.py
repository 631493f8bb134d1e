"""Cue phrases, found as evidence spans a moderator can read.

Conspiracy cues: each family carries a weight, how strongly one match suggests a
conspiracy claim on its own. Distinct families combine by noisy-OR, so a comment
that calls someone a puppet *and* says the news is staged scores higher than
either alone, while one loose word ("puppet show") stays under the review threshold.

Toxicity cues are a suspect-words list in the manner of Coral Talk's: unambiguous
profanity, direct insults, dehumanising language and threats, each enough to send a
comment to review (a direct threat alone reaches the reject threshold; the wider
"violence" phrases, intent to harm or a call for it without a bad word, do not). They
hold no identity terms, so they add no identity-term false positives.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from service.scoring.normalize import NormalizedText


@dataclass(frozen=True)
class CueFamily:
    name: str
    weight: float
    pattern: re.Pattern[str]


def _family(name: str, weight: float, *phrases: str) -> CueFamily:
    alternation = "|".join(f"(?:{phrase})" for phrase in phrases)
    return CueFamily(name, weight, re.compile(rf"\b(?:{alternation})\b", re.IGNORECASE))


_AGENCY = r"(?:cia|mossad|fbi|nsa|kgb|fsb|mi6|deep state|globalists?|zionists?|soros|rothschilds?)"

CONSPIRACY_CUES: tuple[CueFamily, ...] = (
    _family(
        "puppet_masters",
        0.7,
        rf"{_AGENCY}\s*(?:/\s*{_AGENCY}\s*)*(?:'s\s+)?(?:puppets?|stooges?|assets?|pawns?)",
        r"puppets?(?:\s+masters?)?",
        r"pull(?:s|ing|ed)? the strings",
        r"(?:controlled|run|owned) by (?:the )?(?:cia|mossad|globalists?|zionists?|elites?|bankers|cabal)",
        r"(?:what|whatever) [\w\s-]{1,40}? really wants?",
    ),
    _family(
        "staged_for_show",
        0.6,
        r"for public consumption",
        r"(?:all |just )?(?:a |for )?show for the (?:masses|public|sheep)",
        r"staged (?:event|attack|shooting|show)",
        r"crisis actors?",
        r"(?:political|media) theat(?:er|re)",
    ),
    _family(
        "false_flag",
        0.7,
        r"false[- ]flags?",
        r"inside jobs?",
        r"(?:they|government|cia|mossad) (?:did|planned|orchestrated) (?:it|this|9/11)",
    ),
    _family(
        "hidden_order",
        0.5,
        r"new world order",
        r"deep state",
        r"shadow government",
        r"(?:the )?cabal",
        r"(?:global(?:ist)?|satanic) elites?",
        r"illuminati",
        r"great reset",
    ),
    _family(
        "plandemic",
        0.85,
        r"plandemic",
        r"scamdemic",
        r"(?:virus|covid|pandemic) (?:was|is) (?:planned|a hoax|fake)",
        r"vaccines? (?:are|is) (?:poison|a bioweapon|for depopulation)",
        r"depopulation (?:agenda|plan)",
    ),
    _family(
        "suppressed_truth",
        0.4,
        r"(?:they|the media) (?:don'?t|do not) want you to know",
        r"wake up,? (?:people|sheeple)",
        r"sheeple",
        r"do your own research",
        r"cover[- ]?ups?",
    ),
)


# A threat's speaker and intent: "I'll", "we are going to", "imma", up to four words before the harm ("I will find
# you and hurt you"), none of them a negation or a safeguard ("I'll make sure nobody can hurt you" is no threat).
_SPEAKER_INTENDS = (
    r"(?:(?:i|we)(?:'ll| will| shall|'m going to| am going to|'m gonna| am gonna|"
    r"'re going to| are going to|'re gonna| are gonna| gonna)|imma|i'ma)"
    r"(?: (?![\w']*n't\b|not\b|never\b|no\b|nobody\b|no one\b|sure\b|stop\b|protect\b)[\w']+){0,4}?"
)
_VICTIM = (
    r"(?:you|u|him|her|them|y'all|every one of you|all of you|your (?:\w+ )?(?:family|kids|children|wife|husband))"
)
# Verbs that take a person: "cut", "burn", "drown" or "beat" with a person after them are as often a deal, a copy,
# butter or a match ("I'll cut you a deal", "we'll beat them next season"), so they are left out.
_HARM_TO_PERSON = (
    rf"(?:(?:kill|shoot|stab|murder|behead|hurt|punch|strangle|poison|slit|lynch|rape|torture|knife) {_VICTIM}"
    r"|end (?:you|u)"
    r"|(?:kill|shoot|stab|murder|behead|lynch|gas|slaughter|massacre) "
    r"(?:the next|every last|every single|every|all the|all|those|these) \w+"
    rf"|(?:run {_VICTIM} over|beat {_VICTIM} (?:up|to death)|hunt {_VICTIM} down)"
    r"|(?:break|snap|smash|cave|crack|slit) (?:your|his|her|their) (?:\w+ )?(?:neck|legs?|arms?|bones?|face|jaw|"
    r"skull|head|throat|teeth|fingers?)"
    r"|put (?:you|u) in (?:the ground|hospital|the hospital|a coffin|a wheelchair|the grave|a body bag)"
    r"|burn (?:your|his|her|their) (?:\w+ )?house down)"
)
_PLACE_OF_PEOPLE = (
    r"(?:mosque|church|synagogue|temple|gurdwara|school|house|home|office|clinic|march|parade|rally|hostel|camp|"
    r"shelter|centre|center)"
)

TOXICITY_CUES: tuple[CueFamily, ...] = (
    _family(
        "profanity",
        0.8,
        r"f+u+c+k+\w*",
        r"motherf\w*",
        r"shit\w*",
        r"bullshit",
        r"bitch\w*",
        r"cunts?",
        r"assholes?",
        r"arseholes?",
        r"dickheads?",
        r"wank\w*",
        r"twats?",
        r"piss off",
    ),
    _family(
        "insult",
        0.8,
        r"idiot(?:s|ic)?",
        r"moron(?:s|ic)?",
        r"imbeciles?",
        r"retard(?:s|ed)?",
        r"dumbass\w*",
        r"scumbags?",
        r"shut (?:the \w+ )?up",
        r"(?:you(?:'re| are)|you're such an?) (?:stupid|pathetic|worthless|disgusting|brainless)",
    ),
    _family(
        "dehumanising",
        0.8,
        r"(?:are|is|be|like) (?:vermin|cockroaches|subhumans?|sub-humans?)",
        r"(?:animals|savages|parasites|rats) (?:who|that) (?:should|must|need to) be",
        r"should (?:all )?be (?:exterminated|wiped out|driven out|gassed|deported|put down)",
    ),
    _family(
        "threat",
        0.9,
        r"(?:i(?:'ll| will)|we(?:'ll| will)|(?<!not )(?<!never )(?:gonna|going to)) "
        r"(?:kill|shoot|stab|hang|murder|behead) (?:you|him|her|them)",
        r"(?:i )?hope (?:someone|somebody|they|you) (?:shoots?|kills?|stabs?|hangs?|murders?|rapes?)",
        r"(?:kill|hang|shoot) yourself",
        r"kys",
        r"you (?:will|deserve to|should) (?:die|be (?:shot|killed|hanged|raped))",
    ),
    # Wider than the list above, so a match sends a comment to review but does not reject it alone.
    _family(
        "violence",
        0.8,
        # The speaker's own intent to harm: "I will find you and hurt you", "imma stab u".
        rf"{_SPEAKER_INTENDS} {_HARM_TO_PERSON}",
        rf"{_SPEAKER_INTENDS} (?:blow up|bomb|shoot up|burn down|torch|firebomb) (?:the|that|this|your|their) "
        rf"(?:\w+ )?{_PLACE_OF_PEOPLE}",
        # Violence called for: "someone needs to run him over", "let us go and shoot every last one of them".
        r"(?:someone|somebody) (?:should|needs? to|ought to|has to|must) (?:\w+ )?(?:kill|shoot|stab|murder|poison|"
        r"lynch|behead) (?:him|her|them|that \w+|the \w+)",
        r"(?:someone|somebody) (?:should|needs? to|ought to|has to|must) (?:run|beat|string) (?:\w+ ){1,2}(?:over|up)",
        rf"(?:let'?s|let us|we should|we must|we need to|we have to) (?:\w+ ){{0,2}}?{_HARM_TO_PERSON}",
        r"(?:they|he|she|them|those \w+|these \w+) should (?:all )?be (?:shot|hanged|hung|lynched|beheaded|gassed)",
        r"should all be (?:shot|hanged|hung|killed|executed|lynched|beheaded|gassed|burned alive|burnt alive)",
        # Intimidation that names no weapon.
        r"sleep with one eye open",
        r"(?:i|we) know where you (?:live|sleep)",
        r"your days are numbered",
        r"you(?:'re| are) (?:a )?dead (?:man|woman|meat)",
        r"i(?:'m| am) coming for you",
    ),
)

CUES: dict[str, tuple[CueFamily, ...]] = {"conspiracy": CONSPIRACY_CUES, "toxicity": TOXICITY_CUES}
# The seven-category models' own category a toxicity cue also sets a floor under, at the family's weight.
CUE_CATEGORIES = {
    "profanity": "obscene",
    "insult": "insult",
    "dehumanising": "identity_attack",
    "threat": "threat",
    "violence": "threat",
}


@dataclass(frozen=True)
class Evidence:
    start: int
    end: int
    text: str
    cue: str


def _is_word_char(char: str) -> bool:
    # Combining marks belong to the word they decorate.
    return char.isalnum() or unicodedata.category(char).startswith("M")


def _widen_to_words(original: str, start: int, end: int) -> tuple[int, int]:
    """Grow [start, end) so that it never begins or ends inside a word."""
    while start > 0 and _is_word_char(original[start - 1]) and _is_word_char(original[start]):
        start -= 1
    while end < len(original) and _is_word_char(original[end - 1]) and _is_word_char(original[end]):
        end += 1
    return start, end


# Typographic apostrophes, as phones and word processors type them, read as the ASCII one the patterns spell. One
# character for one, so offsets into the folded text are offsets into the text.
_APOSTROPHES = str.maketrans(dict.fromkeys("\u2018\u2019\u02bc", "'"))


def match_cues(text: str, families: tuple[CueFamily, ...] = CONSPIRACY_CUES) -> list[Evidence]:
    """Every cue match in the normalised text, at offsets into it, in reading order."""
    found: list[Evidence] = []
    folded = text.translate(_APOSTROPHES)
    for family in families:
        for match in family.pattern.finditer(folded):
            if match.start() != match.end():
                found.append(Evidence(match.start(), match.end(), text[match.start() : match.end()], family.name))
    found.sort(key=lambda e: (e.start, e.end))
    return found


def locate(normalized: NormalizedText, start: int, end: int) -> tuple[int, int]:
    """A [start, end) of the normalised text as whole words of the original text."""
    return _widen_to_words(normalized.original, *normalized.original_span(start, end))


def find_cues(normalized: NormalizedText, families: tuple[CueFamily, ...] = CONSPIRACY_CUES) -> list[Evidence]:
    """Every cue match, as spans of the original text, in reading order."""
    found: list[Evidence] = []
    for match in match_cues(normalized.text, families):
        start, end = locate(normalized, match.start, match.end)
        found.append(Evidence(start, end, normalized.original[start:end], match.cue))
    return found  # in match order: mapping to the original keeps it


class Cued(Protocol):
    """Anything that names the cue family it matched: an Evidence, or the API's EvidenceSpan made from one."""

    @property
    def cue(self) -> str: ...


def cue_score(evidence: Sequence[Cued], families: tuple[CueFamily, ...] = CONSPIRACY_CUES) -> float:
    """Noisy-OR over the distinct cue families present."""
    weights = {family.name: family.weight for family in families}
    miss = 1.0
    for name in {e.cue for e in evidence}:
        miss *= 1.0 - weights[name]
    return 1.0 - miss
