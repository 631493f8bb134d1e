"""Operator word lists: what a term matches however a commenter spells it, where it is reported, and what the lists
let in (terms, CSV files)."""

from __future__ import annotations

import itertools
import random
import re

import ahocorasick  # type: ignore[import-not-found, unused-ignore]
import pytest

from service.scoring.normalize import normalize
from service.wordlists import (
    MAX_TERM_CHARS,
    MAX_TERMS,
    Action,
    TermError,
    WordList,
    WordListMatcher,
    WordMatch,
    clean_terms,
    terms_from_csv,
    terms_to_csv,
)


def _matches(matcher: WordListMatcher, original: str, site: str = "news", language: str = "en") -> list[WordMatch]:
    """The matches, each checked to be the original text at its offsets, in (start, end, list, term) order."""
    found = matcher.matches(normalize(original), site, language)
    for match in found:
        assert 0 <= match.start < match.end <= len(original), match
        assert match.text == original[match.start : match.end], match
        assert match.action in ("reject", "review"), match
    assert found == sorted(found, key=lambda m: (m.start, m.end, m.list_name, m.term))
    return found


def _texts(matcher: WordListMatcher, original: str, site: str = "news", language: str = "en") -> list[str]:
    return [match.text for match in _matches(matcher, original, site, language)]


def _one_list(*terms: str, action: Action = "reject") -> WordListMatcher:
    return WordListMatcher([WordList("banned", action, terms)])


def _words(count: int, prefix: str = "") -> list[str]:
    """`count` distinct made-up words of letters only (digits would read as leetspeak), none an English word."""
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
    return [prefix + "".join(parts) for parts in itertools.islice(itertools.product(syllables, repeat=4), count)]


# Spelling: case, accents, leetspeak, split letters.


@pytest.mark.parametrize("original", ["IDIOT", "Idiot", "IDIÖT", "ídìót", "\uff29\uff24\uff29\uff2f\uff34", "İDİOT"])
def test_case_and_accents_do_not_hide_a_term(original: str) -> None:
    assert _texts(_one_list("idiot"), f"you {original}!") == [original]


def test_a_term_with_accents_matches_the_word_without() -> None:
    assert _texts(_one_list("Idiöt"), "what an idiot") == ["idiot"]


def test_casefolding_that_lengthens_a_letter_keeps_offsets() -> None:
    # "ß" folds to "ss": both map back to the one letter.
    assert _texts(_one_list("strasse"), "die Straße hier") == ["Straße"]


@pytest.mark.parametrize(
    ("term", "original", "found"),
    [
        ("idiot", "you 1d10t.", "1d10t"),
        ("scum", "$cum of the earth", "$cum"),
        ("ass", "what an a$$", "a$$"),
        ("shit", "sh!t happens", "sh!t"),
        ("bastard", "b@st4rd", "b@st4rd"),
        ("hell", "he||o", None),  # "he||o" is "hello"
        ("idiot", "idiot!!!", "idiot"),  # exclamation after a word is punctuation, not an "i"
    ],
)
def test_leetspeak_does_not_hide_a_term(term: str, original: str, found: str | None) -> None:
    assert _texts(_one_list(term), original) == ([found] if found else [])


def test_leetspeak_in_a_term_matches_plain_spelling() -> None:
    assert _texts(_one_list("1d10t"), "an idiot") == ["idiot"]


def test_numbers_without_letters_stay_numbers() -> None:
    matcher = _one_list("88", "iooo")
    assert _texts(matcher, "heil 88") == ["88"]
    assert _texts(matcher, "paid 1000 dollars") == []


@pytest.mark.parametrize("original", ["s c u m", "s.c.u.m", "s-c-u-m", "S_C_U_M", "s|c|u|m", "5.c.u.m", "5 c u m"])
def test_split_letters_join_into_a_word(original: str) -> None:
    assert _texts(_one_list("scum"), f"you {original}, go away") == [original]


def test_split_letters_need_three_and_one_separator_kind() -> None:
    matcher = _one_list("us", "usa", "scum")
    assert _texts(matcher, "U S") == []  # two letters stay two words
    assert _texts(matcher, "made in the U.S.A.") == ["U.S.A"]
    assert _texts(matcher, "s.c-u.m") == []  # mixed separators are not one run
    assert _texts(matcher, "version 1.3.5") == []  # and digits alone are a number


def test_a_letter_of_a_word_is_not_a_split_letter() -> None:
    # In "xs.c.u.m" the "s" belongs to "xs": "c.u.m" alone is the run.
    found = _matches(_one_list("scum", "cum"), "xs.c.u.m")
    assert [(m.term, m.text) for m in found] == [("cum", "c.u.m")]


# Whole words, phrases and wildcards.


def test_terms_match_whole_words_only() -> None:
    matcher = _one_list("ass", "cunt")
    assert _texts(matcher, "a class act in Scunthorpe, assess the passage") == []
    assert _texts(matcher, "ass-kisser") == ["ass"]  # punctuation ends a word
    assert _texts(matcher, "big_ass") == ["ass"]  # so does an underscore
    assert _texts(matcher, "ass2") == []  # a digit does not


def test_phrases_match_across_any_whitespace_of_the_original() -> None:
    matcher = _one_list("piss off")
    original = "just piss \n\t off now"
    assert _texts(matcher, original) == ["piss \n\t off"]
    assert _texts(matcher, "piss, off") == []  # punctuation between the words is not the phrase
    assert _texts(matcher, "pisses off") == []


@pytest.mark.parametrize(
    ("term", "original", "found"),
    [
        ("f*ck", "fuck feck fck fk", ["fuck", "feck", "fck"]),
        ("idiot*", "idiots are idiotic, idiot", ["idiots", "idiotic", "idiot"]),
        ("*cunt*", "Scunthorpe", ["Scunthorpe"]),
        ("*cunt", "scunt cunts", ["scunt"]),
        ("f**k", "fork", ["fork"]),
        ("m*r*n", "moron", ["moron"]),
        ("stupid *", "stupid man", ["stupid man"]),
    ],
)
def test_a_wildcard_stands_for_letters_inside_a_word(term: str, original: str, found: list[str]) -> None:
    assert _texts(_one_list(term), original) == found


def test_a_wildcard_never_crosses_a_space_or_takes_digits() -> None:
    assert _texts(_one_list("f*ck"), "for luck") == []
    assert _texts(_one_list("idiot*"), "idiot savant") == ["idiot"]
    assert _texts(_one_list("idiot*"), "idiot2") == []  # "2" is no leet letter: still a digit, so no word end
    assert _texts(_one_list("f*ck"), "f2ck") == []


def test_a_long_word_does_not_make_wildcards_backtrack_for_ever() -> None:
    # Each of these terms would backtrack for hours over the word as a naive pattern; matching stays linear.
    matcher = _one_list("a*a*a*a*a*a*b", "*a*a*a*b", "*cunt*x")
    original = "a" * 5_000 + " " + "cunt" * 1_000 + "1"
    assert _texts(matcher, original) == []


def test_overlapping_matches_are_each_reported_in_order() -> None:
    matcher = _one_list("idiot", "stupid idiot", "stupid", "idiot*")
    found = _matches(matcher, "a stupid idiot")
    assert [(m.term, m.text) for m in found] == [
        ("stupid", "stupid"),
        ("stupid idiot", "stupid idiot"),
        ("idiot", "idiot"),
        ("idiot*", "idiot"),
    ]


# Allow lists.


def _with_scunthorpe(sites: tuple[str, ...] | None = None) -> WordListMatcher:
    return WordListMatcher(
        [
            WordList("banned", "reject", ("*cunt*", "cunt")),
            WordList("places", "allow", ("scunthorpe",), sites=sites),
        ]
    )


@pytest.mark.parametrize("original", ["Scunthorpe United", "S.c.u.n.t.h.o.r.p.e", "SCUNTHÖRPE's fans"])
def test_an_allow_list_exempts_what_a_wildcard_catches(original: str) -> None:
    assert _texts(WordListMatcher([WordList("banned", "reject", ("*cunt*",))]), original)
    assert _texts(_with_scunthorpe(), original) == []


def test_an_allow_list_exempts_only_inside_its_own_match() -> None:
    found = _matches(_with_scunthorpe(), "Scunthorpe? what a cunt")
    assert [(m.term, m.text) for m in found] == [("*cunt*", "cunt"), ("cunt", "cunt")]


def test_an_allow_list_that_does_not_apply_exempts_nothing() -> None:
    matcher = _with_scunthorpe(sites=("uk",))
    assert _texts(matcher, "Scunthorpe", site="uk") == []
    assert _texts(matcher, "Scunthorpe", site="us") == ["Scunthorpe"]


def test_allow_matches_are_never_returned() -> None:
    assert _matches(_one_list("scunthorpe", action="allow"), "Scunthorpe") == []


# Scope: sites, languages, several lists.


def test_sites_scope_a_list() -> None:
    matcher = WordListMatcher(
        [
            WordList("everywhere", "reject", ("idiot",)),
            WordList("sports", "review", ("ref",), sites=("sport", "football")),
        ]
    )
    assert [m.list_name for m in _matches(matcher, "idiot ref", site="football")] == ["everywhere", "sports"]
    assert [m.list_name for m in _matches(matcher, "idiot ref", site="news")] == ["everywhere"]


@pytest.mark.parametrize(
    ("language", "applies"),
    [("en", True), ("en-GB", True), ("EN-us", True), ("en_GB", True), ("de", False), ("eng", False), ("", False)],
)
def test_a_language_scopes_a_list_by_primary_subtag(language: str, applies: bool) -> None:
    matcher = WordListMatcher(
        [WordList("english", "reject", ("twat",), language="en"), WordList("all", "review", ("idiot",))]
    )
    names = [m.list_name for m in _matches(matcher, "idiot twat", language=language)]
    assert names == (["all", "english"] if applies else ["all"])


def test_a_term_in_several_lists_matches_once_per_list_that_applies() -> None:
    matcher = WordListMatcher(
        [
            WordList("house", "reject", ("Idiot",)),
            WordList("mods", "review", ("idiot", "IDIOT")),  # the same term twice in a list counts once
            WordList("german", "review", ("idiot",), language="de"),
        ]
    )
    found = _matches(matcher, "an idiot")
    assert [(m.list_name, m.action, m.term) for m in found] == [
        ("house", "reject", "Idiot"),
        ("mods", "review", "idiot"),
    ]
    assert {(m.start, m.end) for m in found} == {(3, 8)}
    assert matcher.term_count == 3


def test_no_list_applies_no_matches() -> None:
    matcher = WordListMatcher([WordList("sports", "reject", ("idiot",), sites=("sport",))])
    assert _matches(matcher, "idiot", site="news") == []
    assert _matches(WordListMatcher([]), "idiot") == []
    assert _matches(_one_list("idiot"), "") == []


def test_terms_that_could_never_match_sensibly_are_skipped() -> None:
    # clean_terms refuses these on the way in; a list built without it still must not match every word.
    matcher = _one_list("", "  ", "*", "* *", "idiot")
    assert matcher.term_count == 1
    assert _texts(matcher, "a fine idiot") == ["idiot"]


# Offsets into the original text.


@pytest.mark.parametrize(
    ("original", "word"),
    [
        ("you   are   an    IDIOT   ok", "IDIOT"),
        ("you\u200b are an id\u200biot", "id\u200biot"),  # zero-width space inside the word
        ("\u200b\u200byou are an i\u0301diot!", "i\u0301diot"),  # "i" + combining accent composes to "í"
        ("an idiot\u0301 here", "idiot\u0301"),  # a mark nothing composes with stays with its letter
        (
            "cafe\u0301 cafe\u0301 und ein \uff29\uff24\uff29\uff2f\uff34",
            "\uff29\uff24\uff29\uff2f\uff34",
        ),  # fullwidth letters compose to ASCII
        ("\ufb01ne, what an i.d.i.o.t", "i.d.i.o.t"),  # a ligature before the word
        ("Straße  \t  1d10t", "1d10t"),
    ],
)
def test_offsets_point_at_the_word_in_the_original(original: str, word: str) -> None:
    (match,) = _matches(_one_list("idiot"), original)
    assert (match.start, match.end, match.text) == (original.index(word), original.index(word) + len(word), word)


def test_offsets_of_a_phrase_in_split_letters() -> None:
    original = "such  s c u m \u200b bag"
    (match,) = _matches(_one_list("scum bag"), original)
    assert match.text == "s c u m \u200b bag"


# Structure: one automaton, one pattern, whatever the number of terms.


def test_the_matcher_compiles_every_term_into_one_automaton_and_one_pattern() -> None:
    literal = _words(9_000)
    wildcards = [word + "*" for word in _words(900, prefix="x")] + ["*" + word for word in _words(100, prefix="w")]
    lists = [
        WordList("reject", "reject", tuple(literal[:5_000] + wildcards[:500])),
        WordList("review", "review", tuple(literal[5_000:] + wildcards[500:])),
    ]
    matcher = WordListMatcher(lists)
    assert matcher.term_count == 10_000
    attributes = list(vars(matcher).values())
    automata = [value for value in attributes if isinstance(value, ahocorasick.Automaton)]
    patterns = [value for value in attributes if isinstance(value, re.Pattern)]
    assert len(automata) == 1
    assert len(patterns) == 1
    # Literal terms and the first literal of each term that begins with `*`, one key each.
    assert len(automata[0]) == 9_000 + 100

    chosen = random.Random(7)
    plain = chosen.sample(literal, 20)
    suffixed = chosen.sample(wildcards[:900], 5)
    prefixed = chosen.sample(wildcards[900:], 5)
    words = (
        [word.upper() for word in plain]
        + [word[:-1] + "ness" for word in suffixed]
        + ["un" + word[1:] for word in prefixed]
        + ["the", "council", "says", "bazaar", plain[0] + "s"]  # near misses
    )
    chosen.shuffle(words)
    original = " ".join(words)
    found = {(m.term, m.text) for m in _matches(matcher, original)}
    expected = (
        {(word, word.upper()) for word in plain}
        | {(term, term[:-1] + "ness") for term in suffixed}
        | {(term, "un" + term[1:]) for term in prefixed}
    )
    assert found == expected


def test_matching_compiles_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """All compiling happens once, in the constructor: matching a comment builds no pattern and no automaton."""
    matcher = _with_scunthorpe()

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled while matching")

    monkeypatch.setattr(re, "compile", refuse)
    monkeypatch.setattr(ahocorasick, "Automaton", refuse)
    assert _texts(matcher, "Scunthorpe, you c.u.n.t") == ["c.u.n.t", "c.u.n.t"]


# Terms and files.


@pytest.mark.parametrize(
    ("terms", "index", "message"),
    [
        (["idiot", ""], 1, "empty"),
        (["idiot", "moron", " \t "], 2, "empty"),
        (["***"], 0, "wildcards"),
        (["idiot", "* *"], 1, "wildcards"),
        (["x" * (MAX_TERM_CHARS + 1)], 0, f"longer than {MAX_TERM_CHARS}"),
        (["\u0301\u200b"], 0, "nothing"),  # only a mark and a zero-width space: nothing left to match
    ],
)
def test_clean_terms_refuses_a_bad_term_and_says_which(terms: list[str], index: int, message: str) -> None:
    with pytest.raises(TermError, match=message) as raised:
        clean_terms(terms)
    assert raised.value.index == index


def test_clean_terms_accepts_a_term_of_the_longest_length() -> None:
    assert clean_terms(["  " + "x" * MAX_TERM_CHARS + "  "]) == ("x" * MAX_TERM_CHARS,)


def test_clean_terms_refuses_more_than_the_most_terms() -> None:
    words = _words(MAX_TERMS + 1)
    assert len(clean_terms(words[:MAX_TERMS])) == MAX_TERMS
    with pytest.raises(TermError, match="more than") as raised:
        clean_terms(words)
    assert raised.value.index == MAX_TERMS
    # Duplicates do not count towards the limit.
    assert len(clean_terms(words[:MAX_TERMS] + words[:10])) == MAX_TERMS


def test_clean_terms_strips_and_drops_duplicates_keeping_the_first() -> None:
    terms = [" Idiot ", "idiot", "IDIÖT", "1d10t", "moron", "f*ck", "F*CK", "stupid  idiot", "stupid idiot"]
    assert clean_terms(terms) == ("Idiot", "moron", "f*ck", "stupid  idiot")


def test_terms_from_csv_reads_one_term_a_line() -> None:
    raw = b'idiot\r\nyou, moron\n\n  scum  \n"quoted"\n'
    assert terms_from_csv(raw) == ("idiot", "you, moron", "scum", '"quoted"')


def test_terms_from_csv_reads_the_term_column() -> None:
    raw = b'list,Term ,notes\nhouse,idiot,first\nhouse,"you, moron","said ""twice"""\nhouse,,blank\n\nmods,scum\n'
    assert terms_from_csv(raw) == ("idiot", "you, moron", "scum")


def test_terms_from_csv_reads_a_first_line_that_opens_a_quote_as_a_term() -> None:
    raw = b'"idiot\n' + b"x\n" * 70_000
    terms = terms_from_csv(raw)
    assert terms[0] == '"idiot'
    assert len(terms) == 2  # the rest are one term, "x", again and again


def test_terms_from_csv_refuses_a_term_column_with_a_runaway_quote() -> None:
    with pytest.raises(TermError, match="line"):
        terms_from_csv(b'term\nidiot\n"scum\n' + b"x\n" * 70_000)


def test_terms_from_csv_skips_a_byte_order_mark() -> None:
    assert terms_from_csv(b"\xef\xbb\xbfterm\nidiot\n") == ("idiot",)
    assert terms_from_csv(b"\xef\xbb\xbfidiot\nmoron\n") == ("idiot", "moron")


def test_terms_from_csv_refuses_a_file_that_is_not_utf8() -> None:
    with pytest.raises(TermError, match="not UTF-8") as raised:
        terms_from_csv("idiot\nidiöt\n".encode("latin-1"))
    assert raised.value.index is None
    assert "line 2" in str(raised.value)


def test_terms_from_csv_names_the_line_of_a_bad_term() -> None:
    with pytest.raises(TermError, match="line 4") as raised:
        terms_from_csv(b"term\nidiot\n\n***\n")
    assert raised.value.index == 1


def test_terms_to_csv_round_trips() -> None:
    terms = ("you, idiot", 'say "scum"', "plain", 'a,"b"', "f*ck", "term", "Straße")
    text = terms_to_csv(terms)
    assert text.splitlines()[0] == "term"
    assert terms_from_csv(text.encode("utf-8")) == terms
    assert terms_from_csv(terms_to_csv([]).encode("utf-8")) == ()
