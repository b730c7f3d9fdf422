-- Smaller commits per worker cycle (issue 6). A claim (submitted → working) and a completion
-- (working → completed) used to rewrite an entry in each of four queue indexes that began with the
-- state; now the queue indexes hold only submitted tasks (a claim deletes one entry from each, a
-- completion touches none) and one (project, state) index answers "has the project an open task",
-- the state counts and the per-state listings.
DROP INDEX tasks_queue;
DROP INDEX tasks_queue_project;
DROP INDEX tasks_queue_type;
DROP INDEX tasks_queue_project_type;
CREATE INDEX tasks_queue ON tasks (priority DESC, seq) WHERE state = 'submitted';
CREATE INDEX tasks_queue_project ON tasks (project, priority DESC, seq) WHERE state = 'submitted';
CREATE INDEX tasks_queue_type ON tasks (type, priority DESC, seq) WHERE state = 'submitted';
CREATE INDEX tasks_queue_project_type ON tasks (project, type, priority DESC, seq) WHERE state = 'submitted';
CREATE INDEX tasks_project_state ON tasks (project, state);

-- Events and reports are never deleted, so a plain INTEGER PRIMARY KEY (max + 1) gives the same
-- increasing sequence as AUTOINCREMENT without writing sqlite_sequence on every insert. SQLite cannot
-- drop AUTOINCREMENT in place: each table is rebuilt, keeping every row and its number.
CREATE TABLE events_new (
  seq     INTEGER PRIMARY KEY,
  type    TEXT NOT NULL,
  project TEXT,
  task_id TEXT,
  worker  TEXT,
  data    TEXT NOT NULL,
  at      INTEGER NOT NULL
);
INSERT INTO events_new (seq, type, project, task_id, worker, data, at) SELECT seq, type, project, task_id, worker, data, at FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_project ON events (project, seq);
CREATE INDEX events_task ON events (task_id);

CREATE TABLE reports_new (
  id              INTEGER PRIMARY KEY,
  task_id         TEXT NOT NULL REFERENCES tasks(id),
  lease_id        TEXT NOT NULL,
  worker          TEXT NOT NULL,
  attempt         INTEGER,
  status          TEXT NOT NULL,
  summary         TEXT NOT NULL,
  deliverables    TEXT NOT NULL,
  context_score   INTEGER,
  question        TEXT,
  details         TEXT,
  accepted        INTEGER NOT NULL,
  rejection       TEXT,
  created_at      INTEGER NOT NULL,
  checks          TEXT,
  idempotency_key TEXT
);
INSERT INTO reports_new (id, task_id, lease_id, worker, attempt, status, summary, deliverables, context_score, question, details, accepted,
  rejection, created_at, checks, idempotency_key)
  SELECT id, task_id, lease_id, worker, attempt, status, summary, deliverables, context_score, question, details, accepted,
  rejection, created_at, checks, idempotency_key FROM reports;
DROP TABLE reports;
ALTER TABLE reports_new RENAME TO reports;
CREATE INDEX reports_task ON reports (task_id);
