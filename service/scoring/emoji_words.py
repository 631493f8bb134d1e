"""Emoji spelled out as their names before the encoder reads a text.

MiniLM's vocabulary has no emoji: each becomes `[UNK]`, so "I'd love to 🔪 some 👳" reads as "I'd love to [UNK]
some [UNK]". Spelled as their CLDR names ("kitchen knife", "person wearing turban") they carry their meaning into
the model. The map back lets a span the model marks in the spelled text point into the normalised text.
"""

from __future__ import annotations

import re

import emoji

_SKIN_TONE = re.compile(r"_?(?:light|medium-light|medium|medium-dark|dark)_skin_tone")


def _name(symbol: str) -> str:
    data = emoji.EMOJI_DATA.get(symbol)
    name = data["en"] if data else emoji.demojize(symbol)
    words = _SKIN_TONE.sub("", name).strip(":").replace("_", " ").replace("-", " ")
    return " ".join(words.split())


Origin = list[tuple[int, int]]


def spell_emoji(text: str) -> tuple[str, Origin | None]:
    """The text with each emoji replaced by its name between spaces, and for each character the [start, end) of
    `text` it came from (`None`: nothing was replaced, the identity map)."""
    found = emoji.emoji_list(text)
    if not found:
        return text, None
    pieces: list[str] = []
    origin: Origin = []
    position = 0
    for match in found:
        start, end = match["match_start"], match["match_end"]
        pieces.append(text[position:start])
        origin.extend((i, i + 1) for i in range(position, start))
        name = _name(match["emoji"])
        spelled = f" {name} " if name else " "
        pieces.append(spelled)
        origin.extend([(start, end)] * len(spelled))
        position = end
    pieces.append(text[position:])
    origin.extend((i, i + 1) for i in range(position, len(text)))
    return "".join(pieces), origin


def spelled(text: str) -> str:
    return spell_emoji(text)[0]
