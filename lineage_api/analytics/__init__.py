"""Usage analytics of a pattern, from its executions (rollups + the raw rows at the window's edges)."""
