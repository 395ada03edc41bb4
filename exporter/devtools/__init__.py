"""Development tooling: the embedded PostgreSQL launcher used by `traceability up`, the tests and bench."""
