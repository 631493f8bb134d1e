"""Language detection: fastText's identifier from its wheel, and the default language where it is unsure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.scoring.language import UNDETERMINED, detect, primary

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Je ne suis pas d'accord avec cet article, mais merci pour le travail.", "fr"),
        ("Das ist ein sehr guter Artikel über die Wahlen in unserer Stadt.", "de"),
        ("No estoy de acuerdo con el alcalde, pero el artículo es muy bueno.", "es"),
        ("Thanks for the article, the map of the region was really helpful.", "en"),
    ],
)
def test_sentences_are_placed(text: str, language: str) -> None:
    assert detect(text, "en").language == language


@pytest.mark.parametrize("text", ["Nadia wears a hijab.", "you idiot", "lol", "i am a jew"])
def test_a_short_text_the_identifier_is_unsure_of_counts_as_the_default(text: str) -> None:
    assert detect(text, "en").language == "en"
    assert detect(text, "de").language == "de"


@pytest.mark.parametrize("text", ["12345", "🔥🔥🔥", "!!!"])
def test_a_text_without_letters_is_the_default_or_undetermined(text: str) -> None:
    assert detect(text, "en").language == "en"
    assert detect(text, "").language == UNDETERMINED


def test_a_confident_short_text_keeps_its_language() -> None:
    assert detect("Bonjour tout le monde", "en").language == "fr"


def test_candidates_start_with_the_language_it_counts_as() -> None:
    found = detect("Nadia wears a hijab.", "en")
    assert found.candidates[0] == "en"
    assert len(set(found.candidates)) == len(found.candidates)


def test_the_projects_english_sentences_count_as_english() -> None:
    """The functional and identity suites are English: none may be sent to review for its language."""
    texts = [json.loads(line)["text"] for line in (DATA / "functional_toxicity.jsonl").read_text().splitlines()]
    seed = json.loads((DATA / "seed_comments.json").read_text())
    texts += [c["text"] for c in seed["comments"]]
    other = [t for t in texts if detect(t, "en").language != "en"]
    assert other == []


@pytest.mark.parametrize(("tag", "language"), [("pt-BR", "pt"), ("EN", "en"), ("hi-Latn", "hi"), (" en_US ", "en")])
def test_primary_language_of_a_tag(tag: str, language: str) -> None:
    assert primary(tag) == language
