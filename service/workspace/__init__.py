"""The moderator workspace's static page: moderate.html, moderate.css and moderate.js, served by
service.api.workspace. Hand-written, no build step; the page reads its data from /v1 with the moderator's key."""
