-- Rollups: per-workflow counts of runs by hour and by day (UTC), kept
-- current by the database itself, so that a summary over a long window
-- reads a few hundred bucket rows instead of every run in it
-- (fcgi/summary-rollups.sql). Everything lives in the schema
-- runs_summary; the program uses it once it is there (DB_ROLLUPS).
--
--   install:    psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f scripts/rollups.sql
--   backfill:   psql "$DATABASE_URL" -c 'CALL runs_summary.backfill()'
--   compact:    psql "$DATABASE_URL" -c 'CALL runs_summary.compact()'   (hourly)
--   uninstall:  psql "$DATABASE_URL" -c 'DROP SCHEMA runs_summary CASCADE'
-- (scripts/rollups wraps them.) The role the program connects as
-- needs, if it is not the one that installs:
--   GRANT USAGE ON SCHEMA runs_summary TO runs_summary;
--   GRANT SELECT ON runs_summary.buckets, runs_summary.backfill TO runs_summary;
-- Until it has them, the program scans.
--
-- Install is one short transaction: it waits for the writes in flight on
-- workflow_runs, puts the triggers on, and marks every existing workflow
-- as not yet backfilled. From then on every write is counted, and each
-- workflow's existing runs are added by the backfill, in batches of days.
-- Until a workflow's backfill has finished, its summaries use the plain
-- scan, so an answer is never partial. Running this file again on an
-- installed database only replaces the functions.
--
-- Why it is exact: a bucket holds, per status, the number of runs, and
-- for completed runs with both timestamps the number of durations and
-- their sum in integer microseconds (numeric: no sum can overflow). The
-- summary adds whole buckets inside [from, to] to the raw runs of the
-- partial hours at either edge. (A completed run with an infinite
-- timestamp has no duration to add: the plain scan fails on it, the
-- buckets leave its duration out, so that writing it does not fail.)
--
-- Hot buckets: the runs being created now all land in the same hour and
-- day, and a row written by one transaction stays locked until it
-- commits. A bucket may therefore have several rows (stripes): a writer
-- adds to the first row of the bucket that no other transaction holds, or
-- opens a new one, so no writer waits for another's bucket row (no queue
-- on a hot bucket, no deadlock). The summary adds the rows up;
-- runs_summary.compact() folds those of past hours and days into one.
BEGIN;

-- Holds writers off (they queue, they do not fail) while the triggers go
-- on and the existing workflows are marked, so no write falls between.
LOCK TABLE workflow_runs IN SHARE ROW EXCLUSIVE MODE;

CREATE SCHEMA IF NOT EXISTS runs_summary;

DO $install$
BEGIN
    IF to_regclass('runs_summary.buckets') IS NOT NULL THEN
        RETURN;
    END IF;
    CREATE TABLE runs_summary.buckets (
        workflow_id uuid        NOT NULL,
        hours       smallint    NOT NULL CHECK (hours IN (1, 24)),
        bucket      timestamptz NOT NULL,   -- start of the hour or UTC day
        stripe      bigint      NOT NULL,   -- a writer's transaction id, or 0
        total       bigint      NOT NULL,
        pending     bigint      NOT NULL,
        running     bigint      NOT NULL,
        completed   bigint      NOT NULL,
        failed      bigint      NOT NULL,
        cancelled   bigint      NOT NULL,
        paused      bigint      NOT NULL,
        durations   bigint      NOT NULL,   -- completed runs with both timestamps
        duration_us numeric     NOT NULL,   -- the sum of their durations
        PRIMARY KEY (workflow_id, hours, bucket, stripe)
    );
    -- Workflows whose runs before done_before are in the buckets and whose
    -- later runs are not yet; a workflow without a row here is complete.
    CREATE TABLE runs_summary.backfill (
        workflow_id uuid        PRIMARY KEY,
        done_before timestamptz NOT NULL
    );
    CREATE TYPE runs_summary.delta AS (
        workflow_id  uuid,
        status       text,
        created_at   timestamptz,
        started_at   timestamptz,
        completed_at timestamptz,
        sign         integer
    );
    INSERT INTO runs_summary.backfill (workflow_id, done_before)
    SELECT id, '-infinity' FROM workflows;
    -- A snapshot taken before the install does not see this row.
    CREATE TABLE runs_summary.installed (at timestamptz NOT NULL);
    INSERT INTO runs_summary.installed VALUES (now());
END
$install$;

-- The advisory lock that orders a backfill batch of one workflow against
-- the writes to it: the batch holds it exclusively, writers share it.
CREATE OR REPLACE FUNCTION runs_summary.lock_key(workflow_id uuid) RETURNS integer
LANGUAGE sql IMMUTABLE AS 'SELECT hashtext(workflow_id::text)';

-- Adds each row's counts to its bucket: to the bucket's first row that
-- no other transaction holds, else to a row keyed by this transaction's
-- id (64-bit, never reused), which no other writer touches, so that
-- nothing here waits for another writer. A REPEATABLE READ or
-- SERIALIZABLE writer always takes its own row: another's row updated
-- since its snapshot would fail it. runs_summary.single_row = on (a
-- setting, for scripts/bench-writes) adds to one row per bucket instead,
-- waiting for it, to measure what the extra rows save.
CREATE OR REPLACE FUNCTION runs_summary.add(rows runs_summary.buckets[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r      runs_summary.buckets;
    target tid;
    mine   bigint := pg_current_xact_id()::text::bigint;
    shared boolean := current_setting('transaction_isolation') = 'read committed';
BEGIN
    IF current_setting('runs_summary.single_row', true) = 'on' THEN
        mine := 0;
    END IF;
    FOREACH r IN ARRAY rows LOOP
        r.stripe := mine;
        LOOP
            -- Its own statement, so that the update below sees the row as
            -- locked, whatever committed in between.
            target := NULL;
            IF mine = 0 THEN
                SELECT c.ctid INTO target FROM runs_summary.buckets c
                WHERE c.workflow_id = r.workflow_id AND c.hours = r.hours
                  AND c.bucket = r.bucket AND c.stripe = 0
                FOR UPDATE;
            ELSIF shared THEN
                SELECT c.ctid INTO target FROM runs_summary.buckets c
                WHERE c.workflow_id = r.workflow_id AND c.hours = r.hours
                  AND c.bucket = r.bucket
                ORDER BY c.stripe LIMIT 1
                FOR UPDATE SKIP LOCKED;
            ELSE
                SELECT c.ctid INTO target FROM runs_summary.buckets c
                WHERE c.workflow_id = r.workflow_id AND c.hours = r.hours
                  AND c.bucket = r.bucket AND c.stripe = mine
                FOR UPDATE;
            END IF;
            IF target IS NOT NULL THEN
                UPDATE runs_summary.buckets b SET
                    total       = b.total + r.total,
                    pending     = b.pending + r.pending,
                    running     = b.running + r.running,
                    completed   = b.completed + r.completed,
                    failed      = b.failed + r.failed,
                    cancelled   = b.cancelled + r.cancelled,
                    paused      = b.paused + r.paused,
                    durations   = b.durations + r.durations,
                    duration_us = b.duration_us + r.duration_us
                WHERE b.ctid = target;
                EXIT;
            END IF;
            -- No row, or all held by others: a row of this transaction's
            -- own. If one is there already (an earlier statement of this
            -- transaction), the next turn finds it.
            INSERT INTO runs_summary.buckets SELECT r.* ON CONFLICT DO NOTHING;
            EXIT WHEN FOUND;
        END LOOP;
    END LOOP;
END
$$;

-- Adds rows (sign 1) or takes them away (sign -1). A run counts in the
-- buckets once its workflow's backfill has passed its created_at; a run
-- created at +infinity never does (the summary reads it raw).
-- Generic plans: left to choose, PostgreSQL may plan these statements
-- afresh at every call, which was most of a write's cost here.
CREATE OR REPLACE FUNCTION runs_summary.apply(d runs_summary.delta[]) RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    -- Waits for a backfill batch in progress on these workflows; at READ
    -- COMMITTED the next statement's snapshot then sees where it got to.
    PERFORM pg_advisory_xact_lock_shared(7277, runs_summary.lock_key(f.workflow_id))
    FROM runs_summary.backfill f
    WHERE f.workflow_id IN (SELECT x.workflow_id FROM unnest(d) x);
    -- At REPEATABLE READ and SERIALIZABLE the snapshot is the
    -- transaction's: one older than the install, or than a batch's move
    -- of these workflows, would count by stale marks. Such a write fails
    -- as a serialization failure, which those writers retry.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        IF NOT EXISTS (SELECT 1 FROM runs_summary.installed) THEN
            RAISE EXCEPTION 'rollups installed after this transaction''s snapshot'
                USING ERRCODE = 'serialization_failure';
        END IF;
        PERFORM 1 FROM runs_summary.backfill f
        WHERE f.workflow_id IN (SELECT x.workflow_id FROM unnest(d) x)
        FOR SHARE;
    END IF;

    PERFORM runs_summary.add(array(
        SELECT (t.workflow_id, t.hours, t.bucket, t.stripe, t.total, t.pending, t.running,
                t.completed, t.failed, t.cancelled, t.paused, t.durations, t.duration_us)
               ::runs_summary.buckets
        FROM (SELECT x.workflow_id, g.hours, g.bucket,
                     0,
                     sum(x.sign),
                     sum(CASE WHEN x.status = 'pending' THEN x.sign ELSE 0 END),
                     sum(CASE WHEN x.status = 'running' THEN x.sign ELSE 0 END),
                     sum(CASE WHEN x.status = 'completed' THEN x.sign ELSE 0 END),
                     sum(CASE WHEN x.status = 'failed' THEN x.sign ELSE 0 END),
                     sum(CASE WHEN x.status = 'cancelled' THEN x.sign ELSE 0 END),
                     sum(CASE WHEN x.status = 'paused' THEN x.sign ELSE 0 END),
                     sum(CASE WHEN x.status = 'completed' AND isfinite(x.started_at)
                               AND isfinite(x.completed_at) THEN x.sign ELSE 0 END),
                     coalesce(sum(x.sign * (extract(epoch FROM x.completed_at)
                                            - extract(epoch FROM x.started_at)) * 1000000)
                                  FILTER (WHERE x.status = 'completed' AND isfinite(x.started_at)
                                          AND isfinite(x.completed_at)), 0)
              FROM unnest(d) x
              LEFT JOIN runs_summary.backfill f ON f.workflow_id = x.workflow_id
              CROSS JOIN LATERAL (VALUES (1::smallint, date_trunc('hour', x.created_at, 'UTC')),
                                         (24::smallint, date_trunc('day', x.created_at, 'UTC')))
                    AS g (hours, bucket)
              WHERE x.created_at < coalesce(f.done_before, 'infinity')
              GROUP BY 1, 2, 3) AS t (workflow_id, hours, bucket, stripe, total, pending,
                                      running, completed, failed, cancelled, paused,
                                      durations, duration_us)
        -- a bucket whose deltas cancel out is not touched; the order is
        -- the one every writer waits in with runs_summary.single_row
        WHERE (t.total, t.pending, t.running, t.completed, t.failed, t.cancelled, t.paused,
               t.durations, t.duration_us) IS DISTINCT FROM (0, 0, 0, 0, 0, 0, 0, 0, 0)
        ORDER BY t.workflow_id, t.hours, t.bucket));
END
$$;

-- The insert, update and delete triggers' function: each trigger has the
-- transition tables of its own kind only, and each branch names only
-- those.
CREATE OR REPLACE FUNCTION runs_summary.on_write() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    gone runs_summary.delta[] := '{}';
    came runs_summary.delta[] := '{}';
BEGIN
    IF TG_OP <> 'INSERT' THEN
        gone := array(SELECT (o.workflow_id, o.status, o.created_at, o.started_at,
                              o.completed_at, -1)::runs_summary.delta FROM old_rows o);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        came := array(SELECT (n.workflow_id, n.status, n.created_at, n.started_at,
                              n.completed_at, 1)::runs_summary.delta FROM new_rows n);
    END IF;
    PERFORM runs_summary.apply(gone || came);
    RETURN NULL;
END
$$;

-- An empty table is a complete one.
CREATE OR REPLACE FUNCTION runs_summary.on_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    TRUNCATE runs_summary.buckets, runs_summary.backfill;
    RETURN NULL;
END
$$;

-- Statement triggers: a statement that writes many runs costs one
-- upsert per bucket it touches, not one per run. They run as the owner
-- of this schema (SECURITY DEFINER, with a search_path of the catalog
-- only), so whoever may write workflow_runs needs no grant here.
CREATE OR REPLACE TRIGGER runs_summary_insert AFTER INSERT ON workflow_runs
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION runs_summary.on_write();
CREATE OR REPLACE TRIGGER runs_summary_update AFTER UPDATE ON workflow_runs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION runs_summary.on_write();
CREATE OR REPLACE TRIGGER runs_summary_delete AFTER DELETE ON workflow_runs
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION runs_summary.on_write();
CREATE OR REPLACE TRIGGER runs_summary_truncate AFTER TRUNCATE ON workflow_runs
    FOR EACH STATEMENT EXECUTE FUNCTION runs_summary.on_truncate();
-- ALWAYS: they also fire for writes made with session_replication_role =
-- replica (bulk loads, logical replication's apply), which would
-- otherwise leave the buckets behind without a trace.
ALTER TABLE workflow_runs ENABLE ALWAYS TRIGGER runs_summary_insert;
ALTER TABLE workflow_runs ENABLE ALWAYS TRIGGER runs_summary_update;
ALTER TABLE workflow_runs ENABLE ALWAYS TRIGGER runs_summary_delete;
ALTER TABLE workflow_runs ENABLE ALWAYS TRIGGER runs_summary_truncate;

-- Adds each workflow's existing runs to the buckets, a batch at a time:
-- a batch covers whole UTC days from where the last one stopped, at
-- least batch_runs runs, and commits. Writers to that workflow wait for
-- the batch in progress only. Safe to stop and call again.
CREATE OR REPLACE PROCEDURE runs_summary.backfill(batch_runs integer DEFAULT 20000)
LANGUAGE plpgsql AS $$
DECLARE
    wf   uuid;
    lo   timestamptz;
    hi   timestamptz;
BEGIN
    LOOP
        IF current_setting('transaction_isolation') <> 'read committed' THEN
            RAISE EXCEPTION 'runs_summary.backfill runs at READ COMMITTED only';
        END IF;
        wf := (SELECT workflow_id FROM runs_summary.backfill ORDER BY workflow_id LIMIT 1);
        EXIT WHEN wf IS NULL;
        -- Waiting in the lock's queue would hold every new writer to wf
        -- behind the longest transaction writing it now: try for a while
        -- between their transactions first.
        FOR i IN 1..100 LOOP
            EXIT WHEN pg_try_advisory_xact_lock(7277, runs_summary.lock_key(wf));
            PERFORM pg_sleep(0.01);
        END LOOP;
        PERFORM pg_advisory_xact_lock(7277, runs_summary.lock_key(wf));
        lo := (SELECT done_before FROM runs_summary.backfill WHERE workflow_id = wf);
        IF lo IS NOT NULL THEN
            -- Through the end of the day of the batch_runs-th run from lo.
            hi := (SELECT date_trunc('day', r.created_at, 'UTC') + interval '24 hours'
                   FROM workflow_runs r
                   WHERE r.workflow_id = wf AND r.created_at >= lo
                   ORDER BY r.created_at OFFSET batch_runs LIMIT 1);
            IF hi = '-infinity' THEN
                -- more runs at -infinity than a batch: take them all
                hi := (SELECT date_trunc('day', min(r.created_at), 'UTC')
                       FROM workflow_runs r
                       WHERE r.workflow_id = wf AND r.created_at > '-infinity');
            END IF;
            hi := coalesce(hi, 'infinity');
            IF hi = 'infinity' THEN
                DELETE FROM runs_summary.backfill WHERE workflow_id = wf;
            ELSE
                UPDATE runs_summary.backfill SET done_before = hi WHERE workflow_id = wf;
            END IF;
            PERFORM runs_summary.apply(array(
                SELECT (r.workflow_id, r.status, r.created_at, r.started_at, r.completed_at, 1)
                       ::runs_summary.delta
                FROM workflow_runs r
                WHERE r.workflow_id = wf AND r.created_at >= lo AND r.created_at < hi));
        END IF;
        COMMIT;
    END LOOP;
END
$$;

-- Folds the rows of every bucket that takes no more new runs (hours
-- before the current one, days before today, UTC) into one, and drops
-- buckets left empty by deletes and moves, so that a summary reads one
-- row per bucket. It waits for no writer: rows a writer holds are left
-- for the next time, and a bucket is one short transaction. Safe at any
-- time; run it from cron (hourly is plenty). A run written later into an
-- old bucket may open a row there again, for the next compact.
CREATE OR REPLACE PROCEDURE runs_summary.compact()
LANGUAGE plpgsql AS $$
DECLARE
    k      record;
    held   bigint[];
    folded runs_summary.buckets[];
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'runs_summary.compact runs at READ COMMITTED only';
    END IF;
    FOR k IN SELECT workflow_id, hours, bucket
             FROM runs_summary.buckets
             WHERE bucket < date_trunc(CASE hours WHEN 1 THEN 'hour' ELSE 'day' END, now(), 'UTC')
             GROUP BY 1, 2, 3
             HAVING count(*) > 1 OR bool_or(total = 0 AND durations = 0 AND duration_us = 0)
    LOOP
        -- The rows no writer holds; locked in a statement of their own, so
        -- that the next ones see them as locked, whatever committed before.
        held := array(SELECT c.stripe FROM runs_summary.buckets c
                      WHERE c.workflow_id = k.workflow_id AND c.hours = k.hours
                        AND c.bucket = k.bucket
                      ORDER BY c.stripe
                      FOR UPDATE SKIP LOCKED);
        IF cardinality(held) > 0 THEN
            -- The first keeps what the others held: add() finds it, the
            -- only row of the bucket left that no other writer holds.
            WITH gone AS (
                DELETE FROM runs_summary.buckets c
                WHERE c.workflow_id = k.workflow_id AND c.hours = k.hours
                  AND c.bucket = k.bucket AND c.stripe = ANY (held[2:])
                RETURNING c.*)
            SELECT array_agg((k.workflow_id, k.hours, k.bucket, 0, total, pending, running,
                              completed, failed, cancelled, paused, durations, duration_us)
                             ::runs_summary.buckets)
            INTO folded
            FROM (SELECT sum(total) AS total, sum(pending) AS pending, sum(running) AS running,
                         sum(completed) AS completed, sum(failed) AS failed,
                         sum(cancelled) AS cancelled, sum(paused) AS paused,
                         sum(durations) AS durations, sum(duration_us) AS duration_us
                  FROM gone HAVING count(*) > 0) g;
            IF folded IS NOT NULL THEN
                PERFORM runs_summary.add(folded);
            END IF;
            DELETE FROM runs_summary.buckets c
            WHERE c.workflow_id = k.workflow_id AND c.hours = k.hours
              AND c.bucket = k.bucket AND c.stripe = held[1]
              AND (c.total, c.pending, c.running, c.completed, c.failed, c.cancelled, c.paused,
                   c.durations, c.duration_us) = (0, 0, 0, 0, 0, 0, 0, 0, 0);
        END IF;
        COMMIT;
    END LOOP;
END
$$;

COMMIT;
