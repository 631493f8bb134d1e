"""Operator word lists: terms a site rejects, holds for review or allows, matched in every comment.

The lists are the operator's own (Discourse's watched words, Coral Talk's banned and suspect words, Azure's
blocklists), so they are matched the way their authors mean them, not the way the commenter spells them: case,
accents, leetspeak ("1d10t", "$cum") and split letters ("s.c.u.m") do not hide a term, and a term only matches whole
words ("ass" is not in "class"). Allow lists carve out the exceptions a wildcard catches ("*cunt*" in "Scunthorpe").

Matching runs on a canonical form of the normalised text with a map back to it, so a match is reported at offsets
into the text the author wrote. Every term of every list is compiled once, into one Aho-Corasick automaton and one
regular expression, so a comment costs about the same with ten terms or ten thousand.
"""

from __future__ import annotations

import bisect
import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

# pyahocorasick ships no type information; `unused-ignore` keeps this line valid if an override is added for it.
import ahocorasick  # type: ignore[import-not-found, unused-ignore]

from service.scoring.normalize import NormalizedText, normalize

Action = Literal["reject", "review", "allow"]

MAX_TERMS = 50_000
MAX_TERM_CHARS = 100
# The header cell that marks a CSV file's column of terms.
_TERM_HEADER = "term"


@dataclass(frozen=True)
class WordList:
    name: str
    action: Action
    terms: tuple[str, ...]
    sites: tuple[str, ...] | None = None  # None: every site
    # None: every language; else only comments whose language's primary subtag equals it ("en": "en" and "en-GB").
    language: str | None = None


@dataclass(frozen=True)
class WordMatch:
    list_name: str
    action: Action  # "reject" or "review": allow matches only exempt others
    term: str  # as the list holds it
    start: int  # [start, end) of the original text
    end: int
    text: str  # original[start:end]


class TermError(ValueError):
    """A term or a word-list file that cannot be used; `index` is the offending term's 0-based position, if one."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


_LEET = str.maketrans("01345789@$!|+", "oieastbgasilt")
# After a token's last letter or digit only these stay leet: "a$$" is "ass", but "idiot!" is an idiot, not "idioti".
_LEET_TRAILING = str.maketrans("@$", "as")
_LEET_CHAR = re.compile(r"[013457-9@$!|+]")
_LETTER = re.compile(r"[^\W\d_]")
# What follows a token's last letter or digit; in a wildcard term `*` stands for letters, so it counts as one.
# Matched on the reversed token, which keeps it linear in a long run of punctuation.
_TAIL = re.compile(r"[\W_]*")
_TERM_TAIL = re.compile(r"(?:[^\w*]|_)*")

# One split letter: a letter, or a character leet makes one ("5.c.u.m"). `|` is a separator here, not an "l".
_UNIT = re.compile(r"[^\W\d_]|[013457-9@$!+]")
# What may not touch a split letter: a letter, a digit or a leet symbol.
_NEIGHBOUR = re.compile(r"[^\W_]|[@$!+]")


def _split_letters(separators: str) -> re.Pattern[str]:
    """The rest of a run of split letters from its first separator: ".c.u.m" of "s.c.u.m", " c u m" of "s c u m".

    Three or more single letters, each pair parted by the same one separator. Starting at a separator lets the search
    skip most of a text in C; _split_runs checks the first letter.
    """
    separator = f"[{re.escape(separators)}]"
    return re.compile(rf"({separator})(?:{_UNIT.pattern})(?:\1(?:{_UNIT.pattern}))+(?!{_NEIGHBOUR.pattern})")


_SEPARATORS = " .,-_*/\\|'~:·•"
_SPLIT_LETTERS = _split_letters(_SEPARATORS)
# In a term `*` is the wildcard: "f*c*k" is two wildcards, not split letters.
_TERM_SPLIT_LETTERS = _split_letters(_SEPARATORS.replace("*", ""))


def _fold(char: str) -> str:
    """One character's canonical form: accents and other marks dropped, case folded ("É" -> "e", "ß" -> "ss")."""
    if char == " ":
        return char
    # Casefolding may add marks ("İ" -> "i" + dot above), so marks are dropped after it. What is left composes
    # again: a Hangul syllable stays one letter, not the jamo it decomposes to.
    decomposed = unicodedata.normalize("NFKD", char.casefold())
    kept = "".join(c for c in decomposed if not unicodedata.category(c).startswith("M") and not c.isspace())
    return unicodedata.normalize("NFC", kept)


_MOST_FOLDS = 1 << 16
# Characters whose canonical form is not one character ("ß", a lone mark): a text with none keeps its indexes.
_UNEVEN: set[str] = set()


class _FoldTable(dict[int, str]):
    """str.translate's table of canonical forms, filled as characters are first seen; safe to share by threads, as
    two that fill the same entry fill it alike."""

    def __missing__(self, code: int) -> str:
        folded = _fold(chr(code))
        if len(folded) != 1:
            # Before the table has it, so whoever reads the entry sees this too. Few characters are uneven (marks,
            # "ß", "İ"), so the set stays small.
            _UNEVEN.add(chr(code))
        if len(self) < _MOST_FOLDS:  # texts written to sweep Unicode may not grow it without end
            self[code] = folded
        return folded


_FOLDS = _FoldTable()


def _leet_token(token: str, tail: re.Pattern[str]) -> str:
    if not _LETTER.search(token):
        return token  # "1000", "88": numbers, not leetspeak
    after = tail.match(token[::-1])
    cut = len(token) - (after.end() if after is not None else 0)
    return token[:cut].translate(_LEET) + token[cut:].translate(_LEET_TRAILING)


def _uneven_index(text: str) -> list[int]:
    """The index in `text` of each character of its canonical form, built around the few characters that are not
    one for one."""
    uneven: list[int] = []
    for char in _UNEVEN.intersection(text):
        at = text.find(char)
        while at >= 0:
            uneven.append(at)
            at = text.find(char, at + 1)
    index: list[int] = []
    done = 0
    for at in sorted(uneven):
        index += range(done, at)
        index += [at] * len(_FOLDS[ord(text[at])])
        done = at + 1
    index += range(done, len(text))
    return index


def _canonical(text: str, term: bool = False) -> tuple[str, list[int] | None]:
    """The canonical form of normalised `text`, with the index in `text` of each of its characters (None: the same).

    Most comments are ASCII with no leet and no split letters: for those this is `text.lower()` and three scans in C.
    """
    index: list[int] | None
    if text.isascii():
        canonical, index = text.lower(), None
    else:
        canonical = text.translate(_FOLDS)
        index = None if _UNEVEN.isdisjoint(text) else _uneven_index(text)

    runs = _split_runs(canonical, _TERM_SPLIT_LETTERS if term else _SPLIT_LETTERS)
    if runs:
        canonical, index = _join_split_letters(canonical, index, runs)

    if _LEET_CHAR.search(canonical):
        canonical = _unleet(canonical, _TERM_TAIL if term else _TAIL)
    return canonical, index


def _unleet(canonical: str, tail: re.Pattern[str]) -> str:
    """Leet undone in each token (run of non-spaces) that holds a leet character: one for one, so indexes hold."""
    pieces: list[str] = []
    done = 0
    for char in _LEET_CHAR.finditer(canonical):
        if char.start() < done:
            continue  # in the token just undone
        begin = canonical.rfind(" ", 0, char.start()) + 1
        end = canonical.find(" ", char.start())
        end = len(canonical) if end < 0 else end
        pieces += canonical[done:begin], _leet_token(canonical[begin:end], tail)
        done = end
    pieces.append(canonical[done:])
    return "".join(pieces)


def _split_runs(canonical: str, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    """[start, end) of each run of three or more split letters that holds a real letter ("1.3.5" is a version)."""
    runs: list[tuple[int, int]] = []
    at = 0
    while (rest := pattern.search(canonical, at)) is not None:
        first = rest.start() - 1
        if first < 0 or not _UNIT.match(canonical, first) or (first > 0 and _NEIGHBOUR.match(canonical, first - 1)):
            at = rest.start() + 1  # not a single letter before it, but a run may start at the next: "xy.a.b.c"
            continue
        if _LETTER.search(canonical, first, rest.end()):
            runs.append((first, rest.end()))
        at = rest.end()  # and a run without letters has none in any part of it
    return runs


def _join_split_letters(canonical: str, index: list[int] | None, runs: list[tuple[int, int]]) -> tuple[str, list[int]]:
    """Drop the separators of each run of split letters; the letters keep their index."""
    at = index if index is not None else list(range(len(canonical)))
    chars: list[str] = []
    kept: list[int] = []
    done = 0
    for start, end in runs:
        chars += canonical[done:start], canonical[start:end:2].translate(_LEET)
        kept += at[done:start]
        kept += at[start:end:2]
        done = end
    chars.append(canonical[done:])
    kept += at[done:]
    return "".join(chars), kept


def _canonical_term(term: str) -> str:
    """The canonical form of a term, as normalised text would have it; `*` stays a wildcard."""
    return _canonical(normalize(term).text, term="*" in term)[0]


def _term_key(term: str, index: int) -> str:
    """The stripped term's canonical form, or TermError where the term could never match a word."""
    shown = repr(term if len(term) <= 40 else term[:40] + "...")
    if not term:
        raise TermError(f"term {index + 1} is empty", index)
    if len(term) > MAX_TERM_CHARS:
        raise TermError(f"term {index + 1} ({shown}) is longer than {MAX_TERM_CHARS} characters", index)
    if not term.replace("*", "").strip():
        raise TermError(f"term {index + 1} ({shown}) is only wildcards: it would match every word", index)
    key = _canonical_term(term)
    if not key.replace("*", "").strip():
        raise TermError(
            f"term {index + 1} ({shown}) has nothing to match once marks and invisible characters are dropped", index
        )
    return key


def clean_terms(terms: Iterable[str]) -> tuple[str, ...]:
    """Strip each term; raise TermError for: an empty or blank term, a term of only wildcards (`*`) and spaces, a term
    longer than MAX_TERM_CHARS, more than MAX_TERMS terms. Duplicates (same canonical form) are dropped, first kept,
    order kept.

    A term left with nothing to match once accents and invisible characters are dropped is refused as blank is.
    """
    kept: dict[str, str] = {}
    for index, raw in enumerate(terms):
        term = raw.strip()
        key = _term_key(term, index)
        if key in kept:
            continue
        if len(kept) == MAX_TERMS:
            raise TermError(f"more than {MAX_TERMS} terms", index)
        kept[key] = term
    return tuple(kept.values())


def terms_from_csv(raw: bytes) -> tuple[str, ...]:
    """The terms of an uploaded file: a CSV file with a `term` column, or else one term a line; then clean_terms.

    Errors name the file's line.
    """
    try:
        text = raw.decode("utf-8-sig")  # Excel writes a byte-order mark
    except UnicodeDecodeError as exc:
        bad = raw[: exc.start].count(b"\n") + 1
        raise TermError(f"the file is not UTF-8 (line {bad}): save it as UTF-8 CSV") from None
    # The header is read from the first line alone: a one-term-a-line file whose first line opens a quote is no CSV.
    header = next(csv.reader(text.splitlines()[:1]), [])
    columns = [at for at, cell in enumerate(header) if cell.strip().casefold() == _TERM_HEADER]
    lines: list[int] = []
    terms: list[str] = []
    if columns:
        column = columns[0]
        rows = csv.reader(io.StringIO(text, newline=""))
        next(rows)
        try:
            for row in rows:
                cell = row[column] if column < len(row) else ""
                if cell.strip():  # a blank row or cell holds no term, as a blank line does below
                    lines.append(rows.line_num)
                    terms.append(cell)
        except csv.Error as exc:  # an unclosed quote that runs on past the field limit
            raise TermError(f"line {rows.line_num}: {exc}") from None
    else:
        # No header: each line is a whole term, commas and quotes included ("you, idiot").
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                lines.append(number)
                terms.append(line)
    try:
        return clean_terms(terms)
    except TermError as exc:
        if exc.index is None:
            raise
        raise TermError(f"line {lines[exc.index]}: {exc}", exc.index) from None


def terms_to_csv(terms: Iterable[str]) -> str:
    """The terms as a CSV file with a `term` header, which terms_from_csv reads back to the same terms."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([_TERM_HEADER])
    writer.writerows([term] for term in terms)
    return out.getvalue()


# Which (list, term as the list holds it) pairs a canonical term stands for.
_Entries = tuple[tuple[int, str], ...]
_LETTERS = r"[^\W\d_]"
_LETTER_RUN = re.compile(rf"{_LETTERS}+")
# What ends a language tag's primary subtag: "en" of "en-GB" (or "en_GB", as some detectors write it).
_SUBTAG = re.compile(r"[-_]")
_NOT_AFTER_WORD = r"(?<![^\W_])"
_NOT_BEFORE_WORD = r"(?![^\W_])"
# A wildcard term as pieces: ("char", c) for each literal before its first `*`; ("middle", literal) for each `*` but
# the last with the literal after it; ("last", literal) for the last `*` and whatever follows it.
_Atom = tuple[Literal["char", "middle", "last"], str]


def _wildcard_atoms(key: str) -> tuple[_Atom, ...]:
    first, *rest = re.split(r"\*+", key)
    atoms: list[_Atom] = [("char", char) for char in first]
    atoms += [("middle", middle) for middle in rest[:-1]]
    atoms.append(("last", rest[-1]))
    return tuple(atoms)


def _atom_pattern(atom: _Atom) -> str:
    """A `*` before a literal takes the fewest letters that reach it, atomically: placing each literal at its first
    reachable place is exact for letter-only wildcards, and it keeps a term like "a*a*a*b" from backtracking for ever
    in a long word. The last `*` alone backtracks, to find the term's end."""
    kind, text = atom
    if kind == "char":
        return re.escape(text)
    if kind == "middle":
        return f"(?>{_LETTERS}*?{re.escape(text)})"
    return f"{_LETTERS}*{re.escape(text)}"


@dataclass
class _Trie:
    children: dict[_Atom, _Trie] = field(default_factory=dict)
    end: bool = False

    def add(self, atoms: tuple[_Atom, ...]) -> None:
        node = self
        for atom in atoms:
            node = node.children.setdefault(atom, _Trie())
        node.end = True

    def pattern(self) -> str:
        """One alternation for every term, common prefixes shared, so a word start tries a few branches, not all."""
        branches = [_atom_pattern(atom) + child.pattern() for atom, child in self.children.items() if atom[0] != "last"]
        # Every "last" atom ends its term: one backtracking run of letters serves them all.
        endings = sorted((re.escape(text) for kind, text in self.children if kind == "last"), reverse=True)
        if endings:
            branches.append(f"{_LETTERS}*" + (endings[0] if len(endings) == 1 else f"(?:{'|'.join(endings)})"))
        if self.end:
            branches.append("")
        return branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"


@dataclass(frozen=True, eq=False)
class _Wildcard:
    pattern: re.Pattern[str]  # the term alone, matched at a start already found
    entries: _Entries


@dataclass
class _Key:
    """What one key of the automaton stands for: a literal term, the first literal of terms that begin with `*`."""

    literal: list[tuple[int, str]] = field(default_factory=list)
    leading: list[_Wildcard] = field(default_factory=list)


class WordListMatcher:
    """One compiled matcher for every list; built once per change of the lists, shared by threads (read-only after
    __init__).

    Literal terms are keys of one Aho-Corasick automaton. Wildcard terms that begin with a literal ("f*ck") are one
    regular expression, their common prefixes shared; it finds where such a term matches, and only the terms whose
    literal prefix the text has there are tried. A term that begins with `*` ("*cunt*") could start at any word, which
    costs a regular expression dearly, so the automaton finds its first literal instead and the term is tried from the
    start of that word.
    """

    def __init__(self, lists: Iterable[WordList]) -> None:
        self._lists = tuple(lists)
        self._languages = tuple(None if wl.language is None else wl.language.strip().lower() for wl in self._lists)
        everywhere: list[int] = []
        by_site: dict[str, list[int]] = {}
        for number, wordlist in enumerate(self._lists):
            for site in wordlist.sites if wordlist.sites is not None else ():
                by_site.setdefault(site, []).append(number)
            if wordlist.sites is None:
                everywhere.append(number)
        self._everywhere = tuple(everywhere)
        self._by_site = {site: tuple(numbers) for site, numbers in by_site.items()}

        literal: dict[str, list[tuple[int, str]]] = {}
        wildcard: dict[str, list[tuple[int, str]]] = {}
        for number, wordlist in enumerate(self._lists):
            seen: set[str] = set()
            for term in wordlist.terms:
                key = _canonical_term(term.strip())
                # A term that could match nothing, or every word, is skipped: clean_terms refuses both on the way in.
                if key in seen or not key.replace("*", "").strip():
                    continue
                seen.add(key)
                (wildcard if "*" in key else literal).setdefault(key, []).append((number, term))
        self._term_count = sum(map(len, literal.values())) + sum(map(len, wildcard.values()))

        keys: dict[str, _Key] = {key: _Key(literal=entries) for key, entries in literal.items()}
        trie = _Trie()
        # Keyed by the literal before the first `*`, which the text at a hit's start must begin with.
        self._wildcards_by_prefix: dict[str, list[_Wildcard]] = {}
        for key, entries in wildcard.items():
            atoms = _wildcard_atoms(key)
            compiled = _Wildcard(re.compile("".join(map(_atom_pattern, atoms)) + _NOT_BEFORE_WORD), tuple(entries))
            if atoms[0][0] == "char":
                trie.add(atoms)
                self._wildcards_by_prefix.setdefault(key[: key.index("*")], []).append(compiled)
            else:
                keys.setdefault(atoms[0][1], _Key()).leading.append(compiled)

        self._prefix_lengths = tuple(sorted({len(prefix) for prefix in self._wildcards_by_prefix}))

        self._automaton = ahocorasick.Automaton()
        for key, found in keys.items():
            self._automaton.add_word(key, (len(key), tuple(found.literal), tuple(found.leading)))
        self._automaton.make_automaton()
        self._has_keys = bool(keys)
        self._wildcard: re.Pattern[str] | None = (
            re.compile(f"{_NOT_AFTER_WORD}(?={trie.pattern()}{_NOT_BEFORE_WORD})") if trie.children else None
        )

    @property
    def term_count(self) -> int:
        """Terms compiled, counted once per list that holds them."""
        return self._term_count

    def _applying(self, site: str, language: str) -> dict[int, Action]:
        primary = _SUBTAG.split(language.strip(), maxsplit=1)[0].lower()
        numbers = self._everywhere + self._by_site.get(site, ())
        return {
            number: self._lists[number].action
            for number in numbers
            if self._languages[number] is None or self._languages[number] == primary
        }

    def _hits(self, canonical: str) -> list[tuple[int, int, _Entries]]:
        """Every term's whole-word match in the canonical text: [start, end) and the terms it stands for."""
        hits: list[tuple[int, int, _Entries]] = []
        size = len(canonical)
        # Where each run of letters starts and ends, once a term that begins with `*` needs them.
        runs: tuple[list[int], list[int]] | None = None
        tried: set[tuple[int, _Wildcard]] = set()
        for last, (length, entries, leading) in self._automaton.iter(canonical) if self._has_keys else ():
            start, end = last - length + 1, last + 1
            if (
                entries
                and (start == 0 or not canonical[start - 1].isalnum())
                and (end == size or not canonical[end].isalnum())
            ):
                hits.append((start, end, entries))
            if leading:
                # The term's `*` takes the letters before its literal: it starts where they start.
                if start > 0 and _LETTER.match(canonical, start - 1):
                    if runs is None:
                        letter_runs = list(_LETTER_RUN.finditer(canonical))
                        runs = [run.start() for run in letter_runs], [run.end() for run in letter_runs]
                    start = runs[0][bisect.bisect_right(runs[1], start - 1)]
                if start > 0 and canonical[start - 1].isalnum():
                    continue
                for term in leading:
                    if (start, term) not in tried:
                        tried.add((start, term))
                        if match := term.pattern.match(canonical, start):
                            hits.append((start, match.end(), term.entries))
        if self._wildcard is not None:
            for found in self._wildcard.finditer(canonical):
                start = found.start()
                for length in self._prefix_lengths:
                    for term in self._wildcards_by_prefix.get(canonical[start : start + length], ()):
                        if match := term.pattern.match(canonical, start):
                            hits.append((start, match.end(), term.entries))
        return hits

    def matches(self, text: NormalizedText, site: str, language: str) -> list[WordMatch]:
        """Every reject and review match of the lists that apply to `site` and `language`, in text order."""
        applying = self._applying(site, language)
        if not applying or not text.text:
            return []
        canonical, index = _canonical(text.text)
        allowed: list[tuple[int, int]] = []
        flagged: list[tuple[int, int, int, str]] = []
        for start, end, entries in self._hits(canonical):
            for number, term in entries:
                action = applying.get(number)
                if action == "allow":
                    allowed.append((start, end))
                elif action is not None:
                    flagged.append((start, end, number, term))
        found: dict[WordMatch, None] = {}
        for start, end, number, term in flagged:
            if any(low <= start and end <= high for low, high in allowed):
                continue
            if index is not None:
                start, end = index[start], index[end - 1] + 1
                # Marks the canonical form dropped still belong to the word's last letter ("idiot\u0301").
                while end < len(text.text) and unicodedata.category(text.text[end]).startswith("M"):
                    end += 1
            start, end = text.original_span(start, end)
            wordlist = self._lists[number]
            match = WordMatch(wordlist.name, wordlist.action, term, start, end, text.original[start:end])
            found[match] = None
        return sorted(found, key=lambda m: (m.start, m.end, m.list_name, m.term))
