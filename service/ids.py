"""The id alphabet: comment, thread, site, word-list and key ids all use it, in URLs and Redis keys alike."""

from __future__ import annotations

import re

ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
_ID = re.compile(ID_PATTERN)
_OUTSIDE = re.compile(r"[^A-Za-z0-9._:-]+")


def is_id(value: str) -> bool:
    return bool(_ID.match(value)) and "\n" not in value


def clean_id(value: str) -> str:
    """`value` in the id alphabet: each run of other characters becomes `-`, at most 128 characters; '' if none."""
    return _OUTSIDE.sub("-", value)[:128].strip("-")


def site_of_community(community_id: str | None, mapping: dict[str, str], default: str) -> str:
    """The site a Perspective `communityId` (or Coral `site.id`) names: the deployment's mapping, else the id
    itself cleaned to the id alphabet, else `default`."""
    if not community_id:
        return default
    return mapping.get(community_id) or clean_id(community_id) or default
