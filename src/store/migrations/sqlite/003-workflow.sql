-- Workflow (issue 8): dependencies, acceptance checks, review, answers, file-conflict holds, retry backoff.
ALTER TABLE tasks ADD COLUMN depends_on TEXT NOT NULL DEFAULT '[]';        -- JSON array of task ids
ALTER TABLE tasks ADD COLUMN deps_pending INTEGER NOT NULL DEFAULT 0;      -- dependencies not completed yet; offered at 0
ALTER TABLE tasks ADD COLUMN checks TEXT NOT NULL DEFAULT '[]';            -- JSON array of checks
ALTER TABLE tasks ADD COLUMN review INTEGER NOT NULL DEFAULT 0;            -- 1 = waits in review-required after its checks pass
ALTER TABLE tasks ADD COLUMN workspace TEXT;                               -- realpath of the workspace root, or NULL
ALTER TABLE tasks ADD COLUMN has_writes INTEGER NOT NULL DEFAULT 0;        -- 1 = files.write is not empty (conflict holds apply)
ALTER TABLE tasks ADD COLUMN notes TEXT NOT NULL DEFAULT '[]';             -- JSON array of answers and review feedback
ALTER TABLE tasks ADD COLUMN attention TEXT;                               -- JSON: why the task needs the engineer / why it was canceled
ALTER TABLE tasks ADD COLUMN check_rejections INTEGER NOT NULL DEFAULT 0;  -- completed reports refused by the checks
ALTER TABLE tasks ADD COLUMN available_at INTEGER NOT NULL DEFAULT 0;      -- not offered before (ms): retry backoff or a reservation
ALTER TABLE tasks ADD COLUMN reserved_for TEXT;                            -- until available_at only this worker is offered the task

-- Reverse lookup: which tasks wait for this one.
CREATE TABLE task_deps (
  depends_on TEXT NOT NULL REFERENCES tasks(id),
  task_id    TEXT NOT NULL REFERENCES tasks(id),
  PRIMARY KEY (depends_on, task_id)
) WITHOUT ROWID;

-- The tasks reserved for a worker (a review sent back, an answer given), looked up before every claim.
CREATE INDEX tasks_reserved ON tasks (reserved_for) WHERE reserved_for IS NOT NULL;
-- Working tasks that declared writes, for the conflict check of each claim of a task that writes.
CREATE INDEX tasks_working_writes ON tasks (project) WHERE state = 'working' AND has_writes = 1;

ALTER TABLE reports ADD COLUMN checks TEXT;                                -- JSON array of check results, or NULL
ALTER TABLE reports ADD COLUMN idempotency_key TEXT;                       -- the report request's Idempotency-Key header, or NULL

-- When the next retry backoff or reservation ends (the wake-up timer of parked polls).
CREATE INDEX tasks_available ON tasks (available_at) WHERE state = 'submitted' AND available_at > 0;
