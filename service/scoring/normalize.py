"""Normalise text before scoring and hashing, keeping a map back to the original.

Two comments that differ only in Unicode form, invisible characters or spacing
get the same hash (one cache entry) and the same scores; evidence found in the
normalised text is reported at offsets into the text the author wrote.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import re
import sys
import unicodedata
from dataclasses import dataclass

Spans = tuple[tuple[int, int], ...]
# A run of characters str.split() keeps together: re's \s is the same Unicode whitespace.
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class NormalizedText:
    original: str
    text: str

    @functools.cached_property
    def spans(self) -> Spans:
        """For each character of `text`, the [start, end) span it came from in `original`.

        Built on first use: only texts with evidence to report need it, and a cache hit needs only the hash.
        """
        return _normalize_mapped(self.original)[1]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) range of the normalised text to the original text."""
        if start >= end:
            raise ValueError("empty range")
        if self._words is not None:
            return self._words.span(start)[0], self._words.span(end - 1)[1]
        return self.spans[start][0], self.spans[end - 1][1]

    @functools.cached_property
    def _words(self) -> _Words | None:
        """The word map, when normalising only collapsed whitespace: most comments, and far cheaper than `spans`."""
        if not unicodedata.is_normalized("NFKC", self.original) or " ".join(self.original.split()) != self.text:
            return None
        return _Words(self.original)

    @property
    def sha256(self) -> str:
        return text_hash(self.text)


class _Words:
    """`NormalizedText.spans` of a text that normalising only collapsed whitespace in, one character at a time.

    Each word's characters map one to one; the single space after a word maps to the first whitespace character
    that followed it in the original.
    """

    def __init__(self, original: str) -> None:
        self._original_starts: list[int] = []
        self._lengths: list[int] = []
        self._starts: list[int] = []
        position = 0
        for word in _WORD.finditer(original):
            self._original_starts.append(word.start())
            self._lengths.append(word.end() - word.start())
            self._starts.append(position)
            position += word.end() - word.start() + 1

    def span(self, index: int) -> tuple[int, int]:
        word = bisect.bisect_right(self._starts, index) - 1
        at = self._original_starts[word] + min(index - self._starts[word], self._lengths[word])
        return at, at + 1


def text_hash(normalized: str) -> str:
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


def _is_removed(char: str) -> bool:
    # Cf: zero-width and bidi controls, soft hyphen; Cc: control characters (whitespace handled apart).
    return unicodedata.category(char) in ("Cf", "Cc") and not char.isspace()


def _nfkc_chunks(chars: list[tuple[str, int]]) -> list[tuple[str, int, int]]:
    """Group characters into runs that NFKC treats independently, each with its original [start, end).

    A run ends before a character only where normalising the run with that character equals normalising each
    apart; that keeps base + mark, conjoining Hangul jamo and other composing pairs together.
    """
    runs: list[tuple[str, int, int]] = []
    run = ""
    start = end = 0
    for char, index in chars:
        if run and unicodedata.normalize("NFKC", run + char) == (
            unicodedata.normalize("NFKC", run) + unicodedata.normalize("NFKC", char)
        ) and unicodedata.combining(char) == 0:
            runs.append((unicodedata.normalize("NFKC", run), start, end))
            run = ""
        if not run:
            start = index
        run += char
        end = index + 1
    if run:
        runs.append((unicodedata.normalize("NFKC", run), start, end))
    return runs


# Every code point _is_removed drops, for str.translate. Built at import (about 0.1 s), so that a preloading gunicorn
# master builds it once for all workers and no request waits for it.
_REMOVED: dict[int, None] = {code: None for code in range(sys.maxunicode + 1) if _is_removed(chr(code))}


def has_visible_text(text: str) -> bool:
    """Whether normalising leaves anything: a cheap check for request validation."""
    return any(not char.isspace() and not _is_removed(char) for char in text)


def normalize(original: str) -> NormalizedText:
    """NFKC, drop invisible and control characters, collapse whitespace, strip the ends."""
    visible = original.translate(_REMOVED)
    if unicodedata.is_normalized("NFKC", visible):
        # Most comments: nothing composes, so _normalize_mapped would only collapse whitespace, as this does.
        return NormalizedText(original, " ".join(visible.split()))
    return NormalizedText(original, _normalize_mapped(original)[0])


def _normalize_mapped(original: str) -> tuple[str, Spans]:
    """The normalised text with the original span of each of its characters."""
    visible = [(char, index) for index, char in enumerate(original) if not _is_removed(char)]
    if unicodedata.is_normalized("NFKC", "".join(char for char, _ in visible)):
        runs = [(char, index, index + 1) for char, index in visible]  # the common case: nothing to compose
    else:
        runs = _nfkc_chunks(visible)
    chars: list[str] = []
    spans: list[tuple[int, int]] = []
    pending_space: tuple[int, int] | None = None
    for normalized, start, end in runs:
        for char in normalized:
            if _is_removed(char):
                continue
            if char.isspace():
                if pending_space is None:
                    pending_space = (start, end)
                continue
            if pending_space is not None:
                if chars:
                    chars.append(" ")
                    spans.append(pending_space)
                pending_space = None
            chars.append(char)
            spans.append((start, end))
    return "".join(chars), tuple(spans)
