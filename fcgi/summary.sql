-- The one statement behind every request: the API-key check, the access
-- check and the summary in a single round trip, bound parameters only.
-- The build embeds this file and scripts read it, so what runs and what
-- is measured cannot drift.
--   $1 workflow id   $2 X-Workspace-Id or NULL
--   $3 the JWT's sub, or NULL for an API key
--   $4 from or NULL  $5 to or NULL               (both bounds inclusive)
--   $6 lower-case hex SHA-256 of the API key, or NULL for a JWT
-- Columns: denied (NULL, or why the API key may not ask: unknown, revoked,
-- expired, workspace, scope), the key's id, visible, total, pending,
-- running, completed, failed, cancelled, paused, average duration in
-- seconds (NULL when no completed run has both timestamps), and on a
-- standby how far its replay is behind the primary, in ms (the age of the
-- last transaction replayed: it also grows while the primary writes
-- nothing), NULL on a primary.
-- The workflow joins only for a caller who may see it, so a refused
-- caller costs the runs index nothing. Durations are summed as intervals
-- (exact microseconds) and divided at 100 decimal places, so the client's
-- double is the correctly rounded mean.
WITH key AS (
    SELECT k.id, k.workspace_id,
           CASE WHEN k.revoked_at IS NOT NULL THEN 'revoked'
                WHEN k.expires_at <= now() THEN 'expired'
                WHEN $2::uuid <> k.workspace_id THEN 'workspace'
                -- the scope workflows:read, its colon escaped: pgbench,
                -- which runs this file too, reads ":read" as a variable
                WHEN NOT coalesce(U&'workflows\003Aread' = ANY (k.scopes), false)
                  THEN 'scope'
           END AS denied
    FROM api_keys k
    WHERE k.key_hash = $6::text
)
SELECT CASE WHEN $6::text IS NULL THEN NULL
            WHEN key.id IS NULL THEN 'unknown'
            ELSE key.denied END AS denied,
       key.id AS key_id,
       w.id IS NOT NULL AS visible,
       s.total, s.pending, s.running, s.completed, s.failed, s.cancelled,
       s.paused,
       s.duration_seconds::numeric(1000, 100) / nullif(s.durations, 0)
         AS average_seconds,
       CASE WHEN pg_is_in_recovery()
            THEN greatest(0, (extract(epoch FROM now() - pg_last_xact_replay_timestamp())
                              * 1000)::bigint)
       END AS replay_lag_ms
FROM (SELECT 1) AS one
LEFT JOIN key ON true
LEFT JOIN workflows w
       ON w.id = $1::uuid
      AND w.deleted_at IS NULL
      AND ($2::uuid IS NULL OR w.workspace_id = $2::uuid)
      AND EXISTS (SELECT 1 FROM workspaces ws
                  WHERE ws.id = w.workspace_id AND ws.deleted_at IS NULL)
      AND CASE WHEN $6::text IS NULL
               THEN EXISTS (SELECT 1 FROM workspace_members m
                            WHERE m.workspace_id = w.workspace_id
                              AND m.user_id = $3::text)
               ELSE key.denied IS NULL AND w.workspace_id = key.workspace_id
          END
-- runs: the scan. With rollups installed, fcgi/summary-rollups.sql takes
-- the place of the rest of this file (scripts/lib/statement).
LEFT JOIN LATERAL (
    SELECT count(*) AS total,
           count(*) FILTER (WHERE r.status = 'pending') AS pending,
           count(*) FILTER (WHERE r.status = 'running') AS running,
           count(*) FILTER (WHERE r.status = 'completed') AS completed,
           count(*) FILTER (WHERE r.status = 'failed') AS failed,
           count(*) FILTER (WHERE r.status = 'cancelled') AS cancelled,
           count(*) FILTER (WHERE r.status = 'paused') AS paused,
           extract(epoch FROM sum(r.completed_at - r.started_at)
                              FILTER (WHERE r.status = 'completed')) AS duration_seconds,
           count(r.completed_at - r.started_at)
               FILTER (WHERE r.status = 'completed') AS durations
    FROM workflow_runs r
    -- coalesce, not "IS NULL OR": a generic plan keeps both index bounds.
    WHERE r.workflow_id = w.id
      AND r.created_at >= coalesce($4::timestamptz, '-infinity')
      AND r.created_at <= coalesce($5::timestamptz, 'infinity')
) s ON true
