-- The one statement behind every request: access check and summary in a
-- single round trip, bound parameters only. The build embeds this file
-- and scripts read it, so what runs and what is measured cannot drift.
--   $1 workflow id   $2 X-Workspace-Id or NULL   $3 caller's user id (JWT sub)
--   $4 from or NULL  $5 to or NULL               (both bounds inclusive)
-- Columns: visible, total, pending, running, completed, failed, cancelled,
-- paused, average duration in seconds (NULL when no completed run has
-- both timestamps). Durations are summed as intervals (exact microseconds)
-- and divided at 100 decimal places, so the client's double is the
-- correctly rounded mean.
SELECT w.id IS NOT NULL AS visible,
       s.total, s.pending, s.running, s.completed, s.failed, s.cancelled,
       s.paused,
       extract(epoch FROM s.duration_sum)::numeric(1000, 100)
         / nullif(s.durations, 0) AS average_seconds
FROM (SELECT 1) AS one
LEFT JOIN workflows w
       ON w.id = $1::uuid
      AND w.deleted_at IS NULL
      AND ($2::uuid IS NULL OR w.workspace_id = $2::uuid)
      AND EXISTS (SELECT 1 FROM workspaces ws
                  WHERE ws.id = w.workspace_id AND ws.deleted_at IS NULL)
      AND EXISTS (SELECT 1 FROM workspace_members m
                  WHERE m.workspace_id = w.workspace_id AND m.user_id = $3::text)
LEFT JOIN LATERAL (
    SELECT count(*) AS total,
           count(*) FILTER (WHERE r.status = 'pending') AS pending,
           count(*) FILTER (WHERE r.status = 'running') AS running,
           count(*) FILTER (WHERE r.status = 'completed') AS completed,
           count(*) FILTER (WHERE r.status = 'failed') AS failed,
           count(*) FILTER (WHERE r.status = 'cancelled') AS cancelled,
           count(*) FILTER (WHERE r.status = 'paused') AS paused,
           sum(r.completed_at - r.started_at)
               FILTER (WHERE r.status = 'completed') AS duration_sum,
           count(r.completed_at - r.started_at)
               FILTER (WHERE r.status = 'completed') AS durations
    FROM workflow_runs r
    -- coalesce, not "IS NULL OR": a generic plan keeps both index bounds.
    WHERE r.workflow_id = w.id
      AND r.created_at >= coalesce($4::timestamptz, '-infinity')
      AND r.created_at <= coalesce($5::timestamptz, 'infinity')
) s ON true
