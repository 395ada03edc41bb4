"""Records -> rows -> PostgreSQL: mapping, writers, the native join, connections, transient errors, retention, limits."""
