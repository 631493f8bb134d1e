"""Where sentences begin and end: Perspective's per-sentence spans, and the sentence that carried a model's score."""

from __future__ import annotations

import re

# A sentence ends at ., ! or ? (with any closing quotes or brackets) before white space, or at a line break.
_SENTENCE_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s)|\n+")


def sentences(text: str, most: int | None = None) -> list[tuple[int, int]]:
    """[start, end) of each sentence in code points, without the white space around it; with `most`, the last of
    that many spans runs to the end of the text."""
    bounds: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        bounds.append((start, match.end()))
        start = match.end()
    bounds.append((start, len(text)))
    spans = []
    for begin, end in bounds:
        piece = text[begin:end]
        if piece.strip():
            spans.append((begin + len(piece) - len(piece.lstrip()), begin + len(piece.rstrip())))
    if most is not None and len(spans) > most:
        spans[most - 1 :] = [(spans[most - 1][0], spans[-1][1])]
    return spans
