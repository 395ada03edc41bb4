"""The web UI, served at the API's root: sessions, turns, code changes, patterns, overview."""
