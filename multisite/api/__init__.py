"""The Kingbird-compatible REST API."""
