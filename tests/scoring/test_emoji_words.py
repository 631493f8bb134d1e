"""Emoji reach the encoder as their names, and a span found in the spelled text maps back to the emoji."""

from __future__ import annotations

from service.scoring.emoji_words import spell_emoji


def test_a_text_without_emoji_is_read_as_it_is() -> None:
    assert spell_emoji("plain words, no pictures") == ("plain words, no pictures", None)


def test_emoji_are_spelled_as_their_names_without_skin_tones() -> None:
    spelled, _ = spell_emoji("I would love to 🔪 some 👳🏾")
    assert spelled.split() == ["I", "would", "love", "to", "kitchen", "knife", "some", "person", "wearing", "turban"]


def test_every_character_of_a_name_points_back_to_its_emoji() -> None:
    text = "go 🐍 now"
    spelled, origin = spell_emoji(text)
    assert origin is not None and len(origin) == len(spelled)
    start = spelled.index("snake")
    assert {origin[i] for i in range(start, start + len("snake"))} == {(3, 4)}
    assert text[origin[spelled.index("now")][0] :].startswith("now")
