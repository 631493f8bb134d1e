"""Text normalisation: NFKC, invisible characters, whitespace, and the map back to the original text."""

from __future__ import annotations

import json
import unicodedata

import pytest

from service.scoring.normalize import NormalizedText, normalize, text_hash
from tests.conftest import ROOT


def _check_spans(result: NormalizedText) -> None:
    """Every normalised character maps to a non-empty, in-bounds, non-decreasing span of the original."""
    assert len(result.spans) == len(result.text)
    previous_start = 0
    for start, end in result.spans:
        assert 0 <= start < end <= len(result.original)
        assert start >= previous_start
        previous_start = start


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        (
            "\uff46\uff55\uff4c\uff4c\uff57\uff49\uff44\uff54\uff48 \uff21\uff22\uff23 \uff11\uff12\uff13",
            "fullwidth ABC 123",
        ),
        ("\ufb01ne \ufb02ag", "fine flag"),  # fi and fl ligatures
        ("x\u00b2", "x2"),  # superscript two
        ("\u2460 item", "1 item"),  # circled digit one
        ("\uff48\uff45\uff4c\uff4c\uff4f\uff0c\uff57\uff4f\uff52\uff4c\uff44\uff01", "hello,world!"),
    ],
)
def test_nfkc_folds_compatibility_characters(original: str, expected: str) -> None:
    result = normalize(original)
    assert result.text == expected
    assert result.original == original
    _check_spans(result)


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("pup\u200bpet", "puppet"),  # zero-width space
        ("pup\u200cp\u200det", "puppet"),  # zero-width non-joiner and joiner
        ("\ufeffpuppet\u2060", "puppet"),  # BOM and word joiner
        ("pup\u00adpet", "puppet"),  # soft hyphen
        ("left\u202eright\u202c", "leftright"),  # bidi override and pop
        ("bell\x07 null\x00 esc\x1b end", "bell null esc end"),  # control characters
        ("a\x7fb", "ab"),  # DEL
    ],
)
def test_invisible_and_control_characters_are_removed(original: str, expected: str) -> None:
    result = normalize(original)
    assert result.text == expected
    _check_spans(result)


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("  leading and trailing  ", "leading and trailing"),
        ("many     spaces", "many spaces"),
        ("tabs\tand\nnew\r\nlines", "tabs and new lines"),
        ("mixed \t \n \u00a0\u2003 kinds", "mixed kinds"),  # NBSP and em space count as whitespace
        ("\n\t  \u3000", ""),  # ideographic space only
        ("", ""),
        ("word", "word"),
        ("a \u200b b", "a b"),  # a zero-width char between spaces leaves one space
    ],
)
def test_whitespace_is_collapsed_and_stripped(original: str, expected: str) -> None:
    result = normalize(original)
    assert result.text == expected
    _check_spans(result)


@pytest.mark.parametrize(
    ("decomposed", "composed"),
    [
        ("e\u0301", "\u00e9"),
        ("cafe\u0301 re\u0301sume\u0301", "caf\u00e9 r\u00e9sum\u00e9"),
        ("A\u030a", "\u00c5"),
        ("s\u0323\u0307", "\u1e69"),  # two marks, canonical order
        ("s\u0307\u0323", "\u1e69"),  # two marks, other order
        ("n\u0303o", "\u00f1o"),
    ],
)
def test_combining_marks_are_composed(decomposed: str, composed: str) -> None:
    result = normalize(decomposed)
    assert result.text == composed
    assert result.text == unicodedata.normalize("NFC", composed)
    _check_spans(result)


def test_combining_mark_maps_back_to_base_and_mark() -> None:
    original = "a e\u0301 b"
    result = normalize(original)
    assert result.text == "a \u00e9 b"
    start, end = result.original_span(2, 3)
    assert original[start:end] == "e\u0301"


@pytest.mark.parametrize(
    ("original", "needle", "expected_original"),
    [
        ("say puppet now", "puppet", "puppet"),
        ("say    puppet   now", "puppet", "puppet"),
        ("say \uff50\uff55\uff50\uff50\uff45\uff54 now", "puppet", "\uff50\uff55\uff50\uff50\uff45\uff54"),
        ("say pup\u200bpet now", "puppet", "pup\u200bpet"),
        ("\u200b\u200b  say puppet", "say puppet", "say puppet"),
        ("for   public\t\tconsumption", "for public consumption", "for   public\t\tconsumption"),
        ("\ufb01ne day", "fine", "\ufb01ne"),
        ("x cafe\u0301 y", "caf\u00e9", "cafe\u0301"),
        ("\x07\x07 end \x07", "end", "end"),
    ],
)
def test_original_span_maps_back_to_the_original_text(original: str, needle: str, expected_original: str) -> None:
    result = normalize(original)
    start = result.text.index(needle)
    orig_start, orig_end = result.original_span(start, start + len(needle))
    assert original[orig_start:orig_end] == expected_original


def test_original_span_of_every_single_character() -> None:
    original = "\uff21  b\u200bc\u00e9 e\u0301\ufb01"
    result = normalize(original)
    assert result.text == "A bc\u00e9 \u00e9fi"
    for index, char in enumerate(result.text):
        start, end = result.original_span(index, index + 1)
        piece = original[start:end]
        if char == " ":
            assert piece.isspace()
        else:
            assert char in unicodedata.normalize("NFKC", piece)


def test_original_span_rejects_an_empty_range() -> None:
    result = normalize("some text")
    with pytest.raises(ValueError):
        result.original_span(3, 3)


def test_sha256_is_the_hash_of_the_normalised_text() -> None:
    result = normalize("  Hello\u200b  World ")
    assert result.sha256 == text_hash("Hello World")
    assert len(result.sha256) == 64


@pytest.mark.parametrize(
    "variant",
    [
        "the puppet show is for public consumption",
        "  the puppet show is for public consumption  ",
        "the   puppet\tshow\nis for public consumption",
        "the pup\u200bpet show is\u00ad for public consumption",
        "\uff54\uff48\uff45 puppet \uff53\uff48\uff4f\uff57 is for public consumption",
        "the puppet show is for public consumption\x07",
        "\ufeffthe puppet show is for public\u2003consumption",
    ],
)
def test_equal_hashes_for_cosmetic_variants(variant: str) -> None:
    reference = normalize("the puppet show is for public consumption")
    assert normalize(variant).sha256 == reference.sha256


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("caf\u00e9 \ufb01ne", "cafe\u0301 fine"),
        ("\uff43\uff41\uff46\u00e9", "cafe\u0301"),
        ("r\u00e9sum\u00e9", unicodedata.normalize("NFD", "r\u00e9sum\u00e9")),
        ("\u00c5ngstr\u00f6m", unicodedata.normalize("NFD", "\u00c5ngstr\u00f6m")),
    ],
)
def test_equal_hashes_for_unicode_form_variants(first: str, second: str) -> None:
    assert normalize(first).sha256 == normalize(second).sha256


def test_equal_hashes_for_decomposed_hangul() -> None:
    # NFD Hangul (conjoining jamo, as some systems and input methods produce) is the same text as NFC Hangul.
    composed = "\ud55c\uad6d\uc5b4 \ub274\uc2a4"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert normalize(decomposed).text == composed
    assert normalize(decomposed).sha256 == normalize(composed).sha256


def test_equal_hashes_when_a_zero_width_char_splits_base_and_mark() -> None:
    # Removing the invisible character leaves "e" + combining acute, which composes like any other.
    assert normalize("caf e\u200b\u0301").text == normalize("caf \u00e9").text


def test_different_texts_get_different_hashes() -> None:
    assert normalize("puppet").sha256 != normalize("puppets").sha256
    assert normalize("Puppet").sha256 != normalize("puppet").sha256  # case is kept
    assert normalize("a b").sha256 != normalize("ab").sha256


_EVERY_ASCII = "".join(chr(code) for code in range(128))


@pytest.mark.parametrize(
    "original",
    [
        _EVERY_ASCII,
        _EVERY_ASCII[::-1],
        *(_EVERY_ASCII[start : start + 9] for start in range(0, 128, 4)),
        "  a\x00 \x1c b\x7f\t\x0b\x0c c  ",
        "Zionists control the \x00media\x1f, wake up\r\n",
        "caf\u00e9\u200b  \u201cpuppet\u201d\u00a0show \U0001f600\u2003end",
    ],
)
def test_text_that_needs_no_composition_agrees_with_its_span_map(original: str) -> None:
    """Such text (most comments) takes a shortcut to the normalised text; the span map, built the general way,
    must describe the same text."""
    result = normalize(original)
    _check_spans(result)
    for index, char in enumerate(result.text):
        start, end = result.spans[index]
        piece = original[start:end]
        assert piece.isspace() if char == " " else piece == char


@pytest.mark.parametrize(
    ("original", "by_word"),
    [
        ("plain words, single spaces", True),
        ("  leading and trailing  ", True),
        ("para one\n\n\tpara two\r\n", True),
        ("no\u00a0break\u2003em\u3000ideographic \x1c file separator", False),  # NBSP and co. are not NFKC
        ("caf\u00e9 \U0001f600  \u201cpuppet\u201d", True),
        ("q\u0301 has no composed form", True),  # NFKC leaves it as written
        ("\u00a8 becomes space and mark", False),
        ("zero\u200bwidth inside", False),
        (_EVERY_ASCII, False),
    ],
)
def test_original_span_agrees_with_the_span_map_for_every_range(original: str, by_word: bool) -> None:
    """Text that only needed its whitespace collapsed is mapped by word, not through the span map: the same answer."""
    result = normalize(original)
    assert (result._words is not None) is by_word
    for start in range(len(result.text)):
        for end in range(start + 1, len(result.text) + 1):
            assert result.original_span(start, end) == (result.spans[start][0], result.spans[end - 1][1])


def test_every_sentence_of_the_hand_written_suites_maps_the_same_by_word_and_by_span_map() -> None:
    """Comment-like sentences (with emoji, slurs spelled with spaces and symbols), each character's span compared."""
    tweets = [
        json.loads(line)["text"]
        for path in sorted((ROOT / "tests" / "data").glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    by_word = 0
    for tweet in tweets:
        result = normalize(tweet)
        if result._words is None:
            continue
        by_word += 1
        assert [result.original_span(i, i + 1) for i in range(len(result.text))] == list(result.spans), tweet
    assert by_word > len(tweets) * 0.9
