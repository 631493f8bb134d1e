"""The names every model, policy and API shares: Detoxify's seven toxicity categories, and conspiracy."""

from __future__ import annotations

TOXICITY_CATEGORIES = (
    "toxicity",
    "severe_toxicity",
    "obscene",
    "threat",
    "insult",
    "identity_attack",
    "sexual_explicit",
)
# What the embedded model's token head marks: the news comments' raters typed their spans as these
# ("Other Toxicity" spans count for toxicity only).
SPAN_CATEGORIES = ("toxicity", "insult", "threat", "identity_attack", "obscene")
CONSPIRACY = "conspiracy"

# Perspective API attribute -> the category that answers it. Its `_EXPERIMENTAL` names are aliases of the same
# category; CONSPIRACY is ours, beyond Perspective.
_PERSPECTIVE_BASE = {
    "TOXICITY": "toxicity",
    "SEVERE_TOXICITY": "severe_toxicity",
    "IDENTITY_ATTACK": "identity_attack",
    "INSULT": "insult",
    "PROFANITY": "obscene",
    "THREAT": "threat",
    "SEXUALLY_EXPLICIT": "sexual_explicit",
}
PERSPECTIVE_ATTRIBUTES: dict[str, str] = {
    **_PERSPECTIVE_BASE,
    **{f"{name}_EXPERIMENTAL": category for name, category in _PERSPECTIVE_BASE.items()},
    "CONSPIRACY": CONSPIRACY,
}
