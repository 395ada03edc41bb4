"""The one classification of database errors, shared by ingest (writers, collector) and the lineage API.

``TRANSIENT_DB_ERRORS``: the database is not reachable or refused this try (connection refused or
lost, admin or crash shutdown, too many connections, a deadlock or serialization failure); the same
work can succeed later. The writers retry them, the collector spools, the API answers 503.
``DATA_ERRORS``: caused by the rows themselves; retrying cannot help.
"""

from __future__ import annotations

import asyncpg

TRANSIENT_DB_ERRORS: tuple[type[Exception], ...] = (
    OSError,  # connection refused / reset (ConnectionRefusedError ...)
    TimeoutError,
    asyncpg.PostgresConnectionError,  # ConnectionDoesNotExistError, ConnectionFailureError, ...
    asyncpg.InterfaceError,
    asyncpg.TooManyConnectionsError,
    asyncpg.exceptions.OperatorInterventionError,  # AdminShutdownError, CrashShutdownError, CannotConnectNowError
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
)
# Errors caused by the rows themselves: the batch is split until the span at fault is found and
# rejected alone. program_limit_exceeded is an index entry or row over PostgreSQL's limits.
DATA_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.ProgramLimitExceededError,
    ValueError,
)
