"""Coral Talk's external moderation phase: its request, its signature, and the answer it accepts.

Coral posts each new or edited comment to us and takes back a decision in its own schema
(`../shared/coral/CONTRACT.md`, from Coral's `external.ts`). Coral drops the whole answer when one value lies
outside its enums, so every value sent is one of the constants below.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from html.parser import HTMLParser
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.categories import CONSPIRACY, TOXICITY_CATEGORIES
from service.decisions import WORDLIST
from service.policy import Decision, Policy
from service.schemas import Reason, Verdict

SIGNATURE_HEADER = "X-Coral-Signature"
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")

# Coral's GQLCOMMENT_STATUS values we send, and its FLAG reason for toxicity.
REJECTED = "REJECTED"
HOLD_STATUSES = ("SYSTEM_WITHHELD", "PREMOD")
FLAG_TOXIC = {"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}

# The reason code of a rejection, by the category that reached its reject threshold, most serious first.
_REASONS: tuple[tuple[str, Reason], ...] = (
    ("identity_attack", Reason.HATE_SPEECH),
    ("threat", Reason.ABUSIVE),
    ("severe_toxicity", Reason.ABUSIVE),
    ("insult", Reason.ABUSIVE),
    ("toxicity", Reason.ABUSIVE),
    ("sexual_explicit", Reason.OFFENSIVE),
    ("obscene", Reason.OFFENSIVE),
    (CONSPIRACY, Reason.MISINFORMATION),
)
_EXPLANATIONS = {
    Reason.HATE_SPEECH: "This comment was removed because it attacks people for who they are.",
    Reason.ABUSIVE: "This comment was removed because it is abusive or threatening.",
    Reason.OFFENSIVE: "This comment was removed because it is offensive or sexually explicit.",
    Reason.MISINFORMATION: "This comment was removed because it presents a conspiracy theory as fact.",
    Reason.BANNED_WORD: "This comment was removed because it uses words this site does not allow.",
    Reason.OTHER: "This comment was removed by the site's moderation policy.",
}


class _Lenient(BaseModel):
    # Coral may add fields in a later release: they are ignored, as Coral ignores ours.
    model_config = ConfigDict(extra="ignore")


class CoralComment(_Lenient):
    body: str
    parentID: str | None = None  # Coral's names


class CoralAuthor(_Lenient):
    id: str = Field(min_length=1)
    role: str | None = None


class CoralStory(_Lenient):
    id: str = Field(min_length=1)
    url: str | None = None


class CoralSite(_Lenient):
    id: str = Field(min_length=1)


class CoralRequest(_Lenient):
    """What Coral sends (`ExternalModerationRequest`)."""

    action: Literal["NEW", "EDIT"]
    comment: CoralComment
    author: CoralAuthor
    story: CoralStory
    site: CoralSite
    tenantID: str | None = None
    tenantDomain: str | None = None


def signature_matches(raw_body: bytes, header: str | None, secrets: tuple[str, ...]) -> bool:
    """Whether any `sha256=HEX` in Coral's header is the HMAC-SHA256 of the raw body under one of `secrets`.

    Every pair is compared, in constant time, so the time taken says nothing about which came close."""
    if not header or not secrets:
        return False
    given = [m.group(1).lower() for part in header.split(",") if (m := _SIGNATURE.fullmatch(part.strip()))]
    expected = [hmac.new(s.encode(), raw_body, hashlib.sha256).hexdigest() for s in secrets]
    matched = False
    for signature in given:
        for candidate in expected:
            matched |= hmac.compare_digest(signature.encode(), candidate.encode())
    return matched


def sign(raw_body: bytes, secrets: tuple[str, ...]) -> str:
    """The header Coral would send for `raw_body` (tests and the docs' example use it)."""
    return ",".join("sha256=" + hmac.new(s.encode(), raw_body, hashlib.sha256).hexdigest() for s in secrets)


_BLOCKS = {"p", "div", "br", "blockquote", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "tr"}


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(body: str) -> str:
    """The comment's words: Coral sends HTML (`<div>`, `<br>`, `<b>`, entities) when the phase's format is HTML.
    Tags go, block ends become line breaks, entities are decoded; a body without `<` or `&` is kept as it is."""
    if "<" not in body and "&" not in body:
        return body.strip()
    parser = _TextOf()
    parser.feed(body)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def comment_key(request: CoralRequest, text: str) -> str:
    """An id for the comment in our queue: Coral sends none, so one is derived from the story, author and text."""
    digest = hashlib.sha256("\x1f".join((request.story.id, request.author.id, text)).encode()).hexdigest()
    return f"coral-{digest[:40]}"


def rejection_reason(verdict: Verdict, policy: Policy) -> Reason:
    for category, reason in _REASONS:
        threshold = policy.reject.get(category)
        if threshold is not None and policy.counts(category) and verdict.scores.get(category, 0.0) >= threshold:
            return reason
    if WORDLIST in verdict.flags:
        return Reason.BANNED_WORD
    return Reason.OTHER


def answer(verdict: Verdict, policy: Policy, hold_status: str) -> dict[str, Any] | None:
    """Coral's answer to a verdict: None (204, no opinion) for allow; a rejection with its reason code; or a hold
    for Coral's moderators, flagged as toxic where a toxicity category was flagged."""
    if verdict.decision is Decision.ALLOW:
        return None
    if verdict.decision is Decision.REJECT:
        reason = rejection_reason(verdict, policy)
        return {
            "status": REJECTED,
            "moderationAction": {
                "status": REJECTED,
                "rejectionReason": {"code": reason.value, "detailedExplanation": _EXPLANATIONS[reason]},
            },
        }
    held: dict[str, Any] = {"status": hold_status}
    if any(flag in TOXICITY_CATEGORIES for flag in verdict.flags):
        held["actions"] = [FLAG_TOXIC]
    return held
