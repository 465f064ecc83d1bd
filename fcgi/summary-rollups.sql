-- runs: from the rollups of scripts/rollups.sql. Whole UTC days and
-- whole hours inside [from, to] come from the buckets, the runs of the
-- partial hours at either edge from the table, in five ranges that touch
-- and never overlap (each half-open but the last):
--   runs [f, hlo)  hours [hlo, dlo)  days [dlo, dhi)  hours [dhi, hhi)  runs [hhi, t]
-- When a window holds no whole day (or hour), that range is empty and
-- its neighbours meet. A workflow still being backfilled gets no bucket
-- range: every bound is just past the window, and the first range reads
-- all of it. A completed run with an infinite timestamp has no duration
-- here, raw or in a bucket (the scan's arithmetic fails on it).
LEFT JOIN LATERAL (
    SELECT coalesce($4::timestamptz, '-infinity') AS f,
           coalesce($5::timestamptz, 'infinity') AS t,
           coalesce($5::timestamptz, 'infinity') + interval '1 microsecond' AS e,
           NOT EXISTS (SELECT 1 FROM runs_summary.backfill bf
                       WHERE bf.workflow_id = w.id) AS ready
) a ON true
LEFT JOIN LATERAL (
    SELECT least(o.hceil, o.hhi) AS hlo, o.hhi, least(o.dceil, o.dhi) AS dlo, o.dhi
    FROM (SELECT CASE WHEN a.ready THEN date_trunc('hour', a.f - interval '1 microsecond', 'UTC')
                                        + interval '1 hour' ELSE a.e END AS hceil,
                 CASE WHEN a.ready THEN date_trunc('hour', a.e, 'UTC') ELSE a.e END AS hhi,
                 CASE WHEN a.ready THEN date_trunc('day', a.f - interval '1 microsecond', 'UTC')
                                        + interval '24 hours' ELSE a.e END AS dceil,
                 CASE WHEN a.ready THEN date_trunc('day', a.e, 'UTC') ELSE a.e END AS dhi) o
) b ON true
LEFT JOIN LATERAL (
    SELECT coalesce(sum(p.total), 0)::bigint AS total,
           coalesce(sum(p.pending), 0)::bigint AS pending,
           coalesce(sum(p.running), 0)::bigint AS running,
           coalesce(sum(p.completed), 0)::bigint AS completed,
           coalesce(sum(p.failed), 0)::bigint AS failed,
           coalesce(sum(p.cancelled), 0)::bigint AS cancelled,
           coalesce(sum(p.paused), 0)::bigint AS paused,
           sum(p.seconds) AS duration_seconds,
           coalesce(sum(p.durations), 0)::bigint AS durations
    FROM (SELECT 1 AS total,
                 (r.status = 'pending')::int AS pending,
                 (r.status = 'running')::int AS running,
                 (r.status = 'completed')::int AS completed,
                 (r.status = 'failed')::int AS failed,
                 (r.status = 'cancelled')::int AS cancelled,
                 (r.status = 'paused')::int AS paused,
                 CASE WHEN r.timed THEN extract(epoch FROM r.completed_at - r.started_at)
                 END AS seconds,
                 CASE WHEN r.timed THEN 1 ELSE 0 END AS durations
          FROM (SELECT e.*, e.status = 'completed' AND isfinite(e.started_at)
                                AND isfinite(e.completed_at) AS timed
                FROM (SELECT status, started_at, completed_at FROM workflow_runs
                      WHERE workflow_id = w.id AND created_at >= a.f AND created_at < b.hlo
                      UNION ALL
                      SELECT status, started_at, completed_at FROM workflow_runs
                      WHERE workflow_id = w.id AND created_at >= greatest(a.f, b.hhi)
                        AND created_at <= a.t) e) r
          UNION ALL
          SELECT k.total, k.pending, k.running, k.completed, k.failed, k.cancelled, k.paused,
                 k.duration_us * 0.000001, k.durations
          FROM (SELECT * FROM runs_summary.buckets
                WHERE workflow_id = w.id AND hours = 1 AND bucket >= b.hlo AND bucket < b.dlo
                UNION ALL
                SELECT * FROM runs_summary.buckets
                WHERE workflow_id = w.id AND hours = 24 AND bucket >= b.dlo AND bucket < b.dhi
                UNION ALL
                SELECT * FROM runs_summary.buckets
                WHERE workflow_id = w.id AND hours = 1 AND bucket >= greatest(b.hlo, b.dhi)
                  AND bucket < b.hhi) k) p
) s ON true
