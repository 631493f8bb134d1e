"""Every Redis key the service uses, built here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str

    def comment(self, comment_id: str) -> str:
        """Hash holding one comment record and its queue bookkeeping."""
        return f"{self.prefix}comment:{comment_id}"

    def queue(self, status: str) -> str:
        """Sorted set of comment ids in one moderation status, by rank."""
        return f"{self.prefix}queue:{status}"

    def queue_by_flag(self, status: str, flag: str) -> str:
        return f"{self.prefix}queue:{status}:flag:{flag}"

    def queue_by_thread(self, status: str, thread_id: str) -> str:
        return f"{self.prefix}queue:{status}:thread:{thread_id}"

    def queue_by_site(self, status: str, site: str) -> str:
        return f"{self.prefix}queue:{status}:site:{site}"

    def queue_by_site_flag(self, status: str, site: str, flag: str) -> str:
        return f"{self.prefix}queue:{status}:site:{site}:flag:{flag}"

    def claim(self, comment_id: str) -> str:
        """String: the name of the key whose moderator holds the queue item, expiring with the claim."""
        return f"{self.prefix}claim:{comment_id}"

    def author(self, author_id: str) -> str:
        """Sorted set of an author's comment ids, by the time each was written (ms)."""
        return f"{self.prefix}author:{author_id}"

    def author_counts(self, author_id: str) -> str:
        """Hash: `SITE:status:STATUS` and `SITE:reason:CODE` -> how many of the author's comments are so."""
        return f"{self.prefix}author-counts:{author_id}"

    def thread(self, thread_id: str) -> str:
        """Sorted set of every comment id in a thread, whatever its status, by the time each was written (ms)."""
        return f"{self.prefix}thread:{thread_id}"

    def comments_by_time(self) -> str:
        """Sorted set of every comment id by the time its record last changed (ms): what retention sweeps."""
        return f"{self.prefix}comments-by-time"

    def retention_lock(self) -> str:
        """String with a TTL: held by the one worker that runs a retention sweep, across replicas."""
        return f"{self.prefix}retention:lock"

    def retention_audit_mark(self) -> str:
        """String: the audit stream id up to which retention removed the entries' texts."""
        return f"{self.prefix}retention:audit-swept"

    def sites(self) -> str:
        """Set of every site a comment was stored for: the metrics report each."""
        return f"{self.prefix}sites"

    def rules_version(self) -> str:
        """Counter raised by every change of the rules below: workers reload theirs when it moves."""
        return f"{self.prefix}rules:version"

    def rule_versions(self) -> str:
        """Hash: `policy:SITE` or `wordlist:NAME` -> its last version, kept after a delete so numbers never repeat."""
        return f"{self.prefix}rules:versions"

    def site_policies(self) -> str:
        """Hash: site -> its stored policy and version."""
        return f"{self.prefix}rules:policies"

    def wordlists(self) -> str:
        """Hash: word-list name -> the list."""
        return f"{self.prefix}rules:wordlists"

    def key_sites(self) -> str:
        """Hash: API key name -> the sites it is limited to (set through the admin API)."""
        return f"{self.prefix}rules:key-sites"

    def sequence(self) -> str:
        """Counter that orders queue entries of equal risk by arrival."""
        return f"{self.prefix}seq"

    def verdict(self, fingerprint: str, text_hash: str) -> str:
        return f"{self.prefix}verdict:{fingerprint}:{text_hash}"

    def audit(self) -> str:
        """Stream of every moderator decision."""
        return f"{self.prefix}audit"

    def audit_text(self, comment_id: str) -> str:
        """Hash: an audit entry's `text_ref` -> what it quotes of the comment or its author (the note, the
        explanation, the overridden verdict's evidence), kept apart so that erasure can remove it and keep the
        entry."""
        return f"{self.prefix}audit-text:{comment_id}"

    def policy_decisions(self, site: str, hour: str) -> str:
        """Hash: `decision:D` and `flag:F` -> how many comments of the site the policy decided in that hour
        (`YYYY-MM-DDTHH`, UTC): the automated side of the transparency report."""
        return f"{self.prefix}transparency:{site}:{hour}"

    def events(self) -> str:
        """Stream of what happened to comments (held, rejected, decided, reopened), for GET /v1/events."""
        return f"{self.prefix}events"

    def webhooks(self) -> str:
        """Hash: webhook name -> the webhook set through the admin API (those of MODERATION_WEBHOOKS are not here)."""
        return f"{self.prefix}webhooks"

    def webhook_names(self) -> str:
        """Set of every webhook name given a place in the event log, configured or set, until deleted: erasure
        and retention clean the letters of each, including one since removed from the environment."""
        return f"{self.prefix}webhook-names"

    def webhook_group(self, name: str) -> str:
        """Not a key: the consumer group on `events()` whose position is what the webhook was sent."""
        return f"webhook:{name}"

    def webhook_lock(self, name: str) -> str:
        """String with a TTL: held by the one worker delivering to the webhook, so its events go in order."""
        return f"{self.prefix}webhook:{name}:lock"

    def webhook_retry(self, name: str) -> str:
        """Hash: item (`stream:ID` or `replay:ID`) -> its failed attempts, first failure, next try and last error."""
        return f"{self.prefix}webhook:{name}:retry"

    def webhook_dead(self, name: str) -> str:
        """List of the events given up on after the retry period, with why, oldest first."""
        return f"{self.prefix}webhook:{name}:dead"

    def webhook_replay(self, name: str) -> str:
        """List of dead letters an admin sent back, delivered before the stream's next event."""
        return f"{self.prefix}webhook:{name}:replay"

    def webhook_counts(self, name: str) -> str:
        """Hash: `delivered`, `failed` (attempts), `dead_lettered` -> how many, since the webhook was made."""
        return f"{self.prefix}webhook:{name}:counts"

    def feedback(self) -> str:
        """Stream of labels from the site's moderators: Perspective suggestscore calls and queue decisions."""
        return f"{self.prefix}feedback"

    def rate_limit(self) -> str:
        """Prefix of the per-API-key request counters the rate limiter keeps."""
        return f"{self.prefix}ratelimit"
