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
