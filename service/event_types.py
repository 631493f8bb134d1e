"""What happened to a comment, as the event log, the pull feed and the webhooks name it."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    HELD = "comment.held"  # the policy held a new or edited comment for review
    REJECTED = "comment.rejected"  # the policy rejected it without a person (it waits in the queue for one)
    DECIDED = "comment.decided"  # a moderator approved or rejected it
    REOPENED = "comment.reopened"  # a moderator undid a decision
