-- runs-summary data model (SPEC.md "Data model"; these names are the
-- contract). Idempotent: safe to run on a database that already has it.
CREATE TABLE IF NOT EXISTS workspaces (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL,
    deleted_at  timestamptz NULL
);

CREATE TABLE IF NOT EXISTS workspace_members (
    workspace_id uuid NOT NULL REFERENCES workspaces (id),
    user_id      text NOT NULL,
    role         text NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    PRIMARY KEY (workspace_id, user_id)
);

CREATE TABLE IF NOT EXISTS workflows (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id),
    name         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz NULL
);

CREATE TABLE IF NOT EXISTS workflow_runs (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workflow_id  uuid NOT NULL REFERENCES workflows (id),
    status       text NOT NULL CHECK (status IN
                 ('pending', 'running', 'completed', 'failed', 'cancelled', 'paused')),
    created_at   timestamptz NOT NULL,
    started_at   timestamptz NULL,
    completed_at timestamptz NULL
);

-- The summary reads one workflow's runs in a created_at window and needs
-- nothing else from the row: with these columns included, it is an
-- index-only scan (once VACUUM has set the visibility map).
CREATE INDEX IF NOT EXISTS workflow_runs_summary_idx
    ON workflow_runs (workflow_id, created_at)
    INCLUDE (status, started_at, completed_at);

CREATE TABLE IF NOT EXISTS api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id),
    key_hash     text NOT NULL UNIQUE,   -- lower-case hex SHA-256 of the whole key
    scopes       text[] NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz NULL,
    expires_at   timestamptz NULL
);
