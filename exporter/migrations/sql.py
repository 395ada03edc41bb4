"""Run a multi-statement SQL script inside a migration.

asyncpg prepares each statement, and a prepared statement holds exactly one command, so a
script is split at statement ends (a semicolon that ends a line). Migration scripts avoid such
semicolons inside function bodies by using one op.execute per function.
"""

from __future__ import annotations

from alembic import op


def run_script(script: str) -> None:
    for statement in script.split(";\n"):
        body = "\n".join(line for line in statement.splitlines() if not line.strip().startswith("--"))
        if body.strip():
            op.execute(statement)
