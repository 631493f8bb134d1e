"""HTTP API v1: one blueprint per concern, errors and auth applied app-wide."""
