"""UTF-16 offsets: Perspective's spans count UTF-16 code units, Python strings count code points."""

from __future__ import annotations


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units: characters beyond the Basic Multilingual Plane (most emoji) count two."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def utf16_offsets(text: str, offsets: list[int]) -> list[int]:
    """Each code-point offset of `text` as a UTF-16 offset, in one pass over the text."""
    units = [0]
    for ch in text:
        units.append(units[-1] + (2 if ord(ch) > 0xFFFF else 1))
    return [units[offset] for offset in offsets]
