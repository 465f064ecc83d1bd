-- Demo data: one workspace, its member user_demo, and a workflow with
-- 1,000 runs of every status over the last 90 days. Fixed ids so the
-- printed curl line is always the same; safe to run again.
INSERT INTO workspaces (id, name)
VALUES ('7a1e0c52-5d0b-4c1e-9a57-1f2a3b4c5d6e', 'Demo workspace')
ON CONFLICT (id) DO NOTHING;

INSERT INTO workspace_members (workspace_id, user_id, role)
VALUES ('7a1e0c52-5d0b-4c1e-9a57-1f2a3b4c5d6e', 'user_demo', 'admin')
ON CONFLICT DO NOTHING;

INSERT INTO workflows (id, workspace_id, name)
VALUES ('3f2b8c1d-9e4a-4b7c-8d6e-5a4b3c2d1e0f',
        '7a1e0c52-5d0b-4c1e-9a57-1f2a3b4c5d6e', 'Nightly invoice sync')
ON CONFLICT (id) DO NOTHING;

INSERT INTO workflow_runs (workflow_id, status, created_at, started_at, completed_at)
SELECT '3f2b8c1d-9e4a-4b7c-8d6e-5a4b3c2d1e0f',
       s.status,
       s.created,
       CASE WHEN s.status <> 'pending' THEN s.created + interval '2 seconds' END,
       CASE WHEN s.status IN ('completed', 'failed', 'cancelled')
            THEN s.created + interval '2 seconds' + (60 + (i * 37) % 400) * interval '1 second'
       END
FROM generate_series(1, 1000) AS i,
     LATERAL (SELECT (ARRAY['completed', 'completed', 'completed', 'completed',
                            'completed', 'completed', 'completed', 'failed',
                            'cancelled', 'pending', 'running', 'paused'])[1 + i % 12] AS status,
                     now() - (i * interval '129 minutes') AS created) AS s
WHERE NOT EXISTS (SELECT 1 FROM workflow_runs
                  WHERE workflow_id = '3f2b8c1d-9e4a-4b7c-8d6e-5a4b3c2d1e0f');

VACUUM ANALYZE workflow_runs;
