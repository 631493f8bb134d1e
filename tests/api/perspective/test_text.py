"""Sentences and UTF-16 offsets for Perspective's spans."""

from __future__ import annotations

import pytest

from service.api.perspective.text import utf16_length, utf16_offsets
from service.scoring.sentences import sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What kind of idiot name is foo? Sorry, I like.", ["What kind of idiot name is foo?", "Sorry, I like."]),
        ("One.Two. Three!", ["One.Two.", "Three!"]),
        ('He said "leave." Then he left', ['He said "leave."', "Then he left"]),
        ("First line\n\nsecond line", ["First line", "second line"]),
        ("  padded sentence.   ", ["padded sentence."]),
        ("Wait... what?! Really", ["Wait...", "what?!", "Really"]),
        ("no end mark", ["no end mark"]),
    ],
)  # fmt: skip
def test_sentences_are_cut_at_end_marks_and_line_breaks(text: str, expected: list[str]) -> None:
    assert [text[start:end] for start, end in sentences(text)] == expected


def test_a_blank_text_has_no_sentence() -> None:
    assert sentences("  \n ") == []


def test_utf16_counts_astral_characters_twice() -> None:
    text = "a😀b\U0001d538é"  # an emoji and a mathematical letter, both beyond the Basic Multilingual Plane
    assert utf16_length(text) == len(text.encode("utf-16-le")) // 2 == 7
    assert utf16_offsets(text, [0, 1, 2, 3, 4, 5]) == [0, 1, 3, 4, 6, 7]
