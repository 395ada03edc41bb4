"""The feedback loop: collect a pattern's versions' executions, find and validate improvements with
scipy, apply the winner in the persisted lineage, and assign sessions to variants under test."""
