"""Analytics rollups: per pattern, per version (node), per UTC hour aggregates of pattern_executions.

Analytics for one pattern with 100k executions must answer in well under 50 ms; one SQL statement
over the raw rows takes 0.2-0.6 s. Each rollup row keeps what the exact statistics need:

- counts (executions, successes = succeeded and not blocked, blocked);
- the hour's durations and quality scores as sorted, packed float8 (big-endian) byte strings, so
  percentiles, means and the feedback loop's tests run on the exact values (numpy reads them
  without copying);
- the distinct sessions and users as sorted, packed int8 ids from ``pattern_execution_keys`` (a
  dictionary), so distinct counts over any set of hours are exact;
- per tool, file extension and user execution counts (jsonb) for the distribution.

Rollups are maintained by statement-level triggers with transition tables: every INSERT, UPDATE,
DELETE (including ON CONFLICT upserts, COPY and cascades) recomputes the touched (node, hour)
buckets from pattern_executions. A transaction-scoped advisory lock per bucket serializes
concurrent writers; the recomputation runs after the lock is granted, so under READ COMMITTED
(each statement of a volatile function takes a new snapshot) it includes what a concurrent writer
committed meanwhile. Under REPEATABLE READ / SERIALIZABLE a conflicting writer gets a
serialization error or a unique violation instead of a silently wrong rollup.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-25
"""

from alembic import op

from traceability.exporter.migrations.sql import run_script

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = r"""
-- Dictionary of session ids ('s') and user ids ('u') so rollups can keep distinct sets as int8.
CREATE TABLE pattern_execution_keys (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind "char" NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (kind, value)
);

CREATE TABLE pattern_execution_rollups (
    pattern_id TEXT NOT NULL,
    node_id UUID NOT NULL,
    bucket_start TIMESTAMPTZ NOT NULL,          -- a whole UTC hour
    executions INTEGER NOT NULL,
    successes INTEGER NOT NULL,                  -- success AND NOT blocked
    blocked INTEGER NOT NULL,
    durations BYTEA NOT NULL,                    -- sorted float8 (big-endian), NULL durations left out
    quality_scores BYTEA NOT NULL,               -- sorted float8 (big-endian), NULL scores left out
    session_keys BYTEA NOT NULL,                 -- sorted distinct int8 ids of pattern_execution_keys
    user_keys BYTEA NOT NULL,
    first_executed_at TIMESTAMPTZ NOT NULL,
    last_executed_at TIMESTAMPTZ NOT NULL,
    tool_counts JSONB NOT NULL,                  -- {tool_name or "": executions}
    extension_counts JSONB NOT NULL,             -- {".py" or "": executions}
    user_counts JSONB NOT NULL,                  -- {user_id or "": executions}
    PRIMARY KEY (pattern_id, bucket_start, node_id)
);
CREATE INDEX idx_pattern_rollups_node ON pattern_execution_rollups(node_id, bucket_start)
"""

# os.path.splitext semantics on the basename, lower-cased: "a.tar.GZ" -> ".gz", ".bashrc" -> "".
FILE_EXTENSION_FUNCTION = r"""
CREATE FUNCTION traceability_file_extension(path TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(lower(substring(regexp_replace(path, '^.*/', '') FROM '^\.*[^.].*(\.[^.]*)$')), '')
$$
"""

REFRESH_FUNCTION = r"""
CREATE FUNCTION traceability_refresh_rollups(p_patterns TEXT[], p_nodes UUID[], p_buckets TIMESTAMPTZ[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    -- A statement touching many buckets (a bulk load) recomputes a region instead: every hour of
    -- the touched nodes between the first and last touched hour. Recomputing an untouched bucket
    -- changes nothing, and a region scan is one index/sequential pass instead of one probe per hour.
    region BOOLEAN := cardinality(p_buckets) > 128;
    region_nodes UUID[];
    lo TIMESTAMPTZ;
    hi TIMESTAMPTZ;
BEGIN
    -- Writers of the same (node, hour) serialize on one of 128 lock slots, taken in a fixed order
    -- (no deadlock); a region takes them all, because it rewrites hours it was not given.
    PERFORM pg_advisory_xact_lock(1380275253, k.h)
    FROM (
        SELECT DISTINCT (hashtext(u.n::text || '/' || extract(epoch FROM u.b)::bigint::text) & 127) AS h
        FROM unnest(p_nodes, p_buckets) AS u(n, b)
        WHERE NOT region
        UNION
        SELECT g FROM generate_series(0, 127) AS g WHERE region
        ORDER BY 1
    ) AS k;

    IF region THEN
        SELECT array_agg(DISTINCT n) INTO region_nodes FROM unnest(p_nodes) AS n;
        SELECT min(b), max(b) + interval '1 hour' INTO lo, hi FROM unnest(p_buckets) AS b;
        DELETE FROM pattern_execution_rollups r
        WHERE r.node_id = ANY (region_nodes) AND r.bucket_start >= lo AND r.bucket_start < hi;
    ELSE
        DELETE FROM pattern_execution_rollups r
        USING unnest(p_patterns, p_nodes, p_buckets) AS k(p, n, b)
        WHERE r.pattern_id = k.p AND r.node_id = k.n AND r.bucket_start = k.b;
    END IF;

    WITH keys AS (
        SELECT DISTINCT p, n, b FROM unnest(p_patterns, p_nodes, p_buckets) AS u(p, n, b) WHERE NOT region
    ), source AS (
        SELECT k.p, k.n, k.b, e.*
        FROM keys k
        JOIN pattern_executions e
          ON e.node_id = k.n AND e.pattern_id = k.p
         AND e.executed_at >= k.b AND e.executed_at < k.b + interval '1 hour'
        UNION ALL
        SELECT e.pattern_id, e.node_id, date_trunc('hour', e.executed_at, 'UTC'), e.*
        FROM pattern_executions e
        WHERE region AND e.node_id = ANY (region_nodes) AND e.executed_at >= lo AND e.executed_at < hi
    ), execs AS (
        SELECT s.p, s.n, s.b, s.success, s.blocked, s.duration_ms, s.quality_score, s.executed_at,
               coalesce(s.tool_name, '') AS tool, traceability_file_extension(s.file_path) AS ext,
               coalesce(s.user_id, '') AS usr, sk.id AS sk, uk.id AS uk
        FROM source s
        LEFT JOIN pattern_execution_keys sk ON sk.kind = 's' AND sk.value = s.session_id
        LEFT JOIN pattern_execution_keys uk ON uk.kind = 'u' AND uk.value = s.user_id
    )
    -- One pass, no joins between aggregates (row estimates of 1 there invite nested loops over
    -- every bucket of a bulk load); the per-key counts come from each group's own arrays.
    INSERT INTO pattern_execution_rollups (
        pattern_id, node_id, bucket_start, executions, successes, blocked, durations, quality_scores,
        session_keys, user_keys, first_executed_at, last_executed_at, tool_counts, extension_counts,
        user_counts)
    SELECT p, n, b,
           count(*),
           count(*) FILTER (WHERE success AND NOT blocked),
           count(*) FILTER (WHERE blocked),
           coalesce(string_agg(float8send(duration_ms), ''::bytea ORDER BY duration_ms), ''::bytea),
           coalesce(string_agg(float8send(quality_score), ''::bytea ORDER BY quality_score), ''::bytea),
           coalesce(string_agg(DISTINCT int8send(sk), ''::bytea ORDER BY int8send(sk)), ''::bytea),
           coalesce(string_agg(DISTINCT int8send(uk), ''::bytea ORDER BY int8send(uk)), ''::bytea),
           min(executed_at),
           max(executed_at),
           (SELECT jsonb_object_agg(k, c) FROM (SELECT k, count(*) AS c FROM unnest(array_agg(tool)) AS k
                                                GROUP BY k) AS t),
           (SELECT jsonb_object_agg(k, c) FROM (SELECT k, count(*) AS c FROM unnest(array_agg(ext)) AS k
                                                GROUP BY k) AS t),
           (SELECT jsonb_object_agg(k, c) FROM (SELECT k, count(*) AS c FROM unnest(array_agg(usr)) AS k
                                                GROUP BY k) AS t)
    FROM execs
    GROUP BY p, n, b;
END
$$
"""

# One function for the three statement triggers (a trigger with transition tables has one event).
TRIGGER_FUNCTION = r"""
CREATE FUNCTION traceability_rollups_on_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ps TEXT[];
    ns UUID[];
    bs TIMESTAMPTZ[];
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO pattern_execution_keys (kind, value)
        SELECT s.k, s.v FROM (
            SELECT 's'::"char" AS k, session_id AS v FROM new_rows WHERE session_id IS NOT NULL
            UNION
            SELECT 'u'::"char", user_id FROM new_rows WHERE user_id IS NOT NULL
        ) AS s
        WHERE NOT EXISTS (SELECT 1 FROM pattern_execution_keys x WHERE x.kind = s.k AND x.value = s.v)
        ORDER BY s.k, s.v
        ON CONFLICT (kind, value) DO NOTHING;
    END IF;

    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(k.p), array_agg(k.n), array_agg(k.b) INTO ps, ns, bs
        FROM (SELECT DISTINCT pattern_id, node_id, date_trunc('hour', executed_at, 'UTC') FROM new_rows)
             AS k(p, n, b);
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(k.p), array_agg(k.n), array_agg(k.b) INTO ps, ns, bs
        FROM (SELECT pattern_id, node_id, date_trunc('hour', executed_at, 'UTC') FROM new_rows
              UNION
              SELECT pattern_id, node_id, date_trunc('hour', executed_at, 'UTC') FROM old_rows)
             AS k(p, n, b);
    ELSE
        SELECT array_agg(k.p), array_agg(k.n), array_agg(k.b) INTO ps, ns, bs
        FROM (SELECT DISTINCT pattern_id, node_id, date_trunc('hour', executed_at, 'UTC') FROM old_rows)
             AS k(p, n, b);
    END IF;

    IF ps IS NOT NULL THEN
        PERFORM traceability_refresh_rollups(ps, ns, bs);
    END IF;
    RETURN NULL;
END
$$
"""

TRUNCATE_FUNCTION = r"""
CREATE FUNCTION traceability_rollups_on_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE pattern_execution_rollups;
    RETURN NULL;
END
$$
"""

TRIGGERS = r"""
CREATE TRIGGER pattern_executions_rollups_insert AFTER INSERT ON pattern_executions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION traceability_rollups_on_change();
CREATE TRIGGER pattern_executions_rollups_update AFTER UPDATE ON pattern_executions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION traceability_rollups_on_change();
CREATE TRIGGER pattern_executions_rollups_delete AFTER DELETE ON pattern_executions
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION traceability_rollups_on_change();
CREATE TRIGGER pattern_executions_rollups_truncate AFTER TRUNCATE ON pattern_executions
    FOR EACH STATEMENT EXECUTE FUNCTION traceability_rollups_on_truncate()
"""

# Rows that existed before this migration.
BACKFILL = r"""
INSERT INTO pattern_execution_keys (kind, value)
SELECT k, v FROM (
    SELECT 's'::"char" AS k, session_id AS v FROM pattern_executions WHERE session_id IS NOT NULL
    UNION
    SELECT 'u'::"char", user_id FROM pattern_executions WHERE user_id IS NOT NULL
) s ORDER BY k, v;
SELECT traceability_refresh_rollups(array_agg(p), array_agg(n), array_agg(b))
FROM (SELECT DISTINCT pattern_id, node_id, date_trunc('hour', executed_at, 'UTC') FROM pattern_executions)
     AS k(p, n, b)
"""

DOWNGRADE = r"""
DROP TRIGGER IF EXISTS pattern_executions_rollups_truncate ON pattern_executions;
DROP TRIGGER IF EXISTS pattern_executions_rollups_delete ON pattern_executions;
DROP TRIGGER IF EXISTS pattern_executions_rollups_update ON pattern_executions;
DROP TRIGGER IF EXISTS pattern_executions_rollups_insert ON pattern_executions;
DROP FUNCTION IF EXISTS traceability_rollups_on_truncate();
DROP FUNCTION IF EXISTS traceability_rollups_on_change();
DROP FUNCTION IF EXISTS traceability_refresh_rollups(TEXT[], UUID[], TIMESTAMPTZ[]);
DROP FUNCTION IF EXISTS traceability_file_extension(TEXT);
DROP TABLE IF EXISTS pattern_execution_rollups;
DROP TABLE IF EXISTS pattern_execution_keys
"""


def upgrade() -> None:
    run_script(TABLES)
    # Function bodies hold semicolons that end lines, so each is one statement (see run_script).
    for function in (FILE_EXTENSION_FUNCTION, REFRESH_FUNCTION, TRIGGER_FUNCTION, TRUNCATE_FUNCTION):
        op.execute(function)
    run_script(TRIGGERS)
    run_script(BACKFILL)


def downgrade() -> None:
    run_script(DOWNGRADE)
