-- Initial schema. Times are epoch milliseconds; JSON columns hold text.
CREATE TABLE projects (
  name        TEXT PRIMARY KEY,
  created_at  INTEGER NOT NULL,
  closed_at   INTEGER,          -- the coordinator said no more tasks are coming
  finished_at INTEGER           -- closed and no open task left
);

CREATE TABLE tasks (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,  -- posting order, list cursor
  id           TEXT NOT NULL UNIQUE,
  project      TEXT NOT NULL REFERENCES projects(name),
  type         TEXT NOT NULL,
  description  TEXT NOT NULL,
  context      TEXT NOT NULL,
  acceptance   TEXT NOT NULL,
  files        TEXT NOT NULL,
  priority     INTEGER NOT NULL,
  lease_ms     INTEGER NOT NULL,
  max_attempts INTEGER NOT NULL,
  input        TEXT NOT NULL,   -- the task as posted, to explain a 409
  spec_hash    TEXT NOT NULL,
  state        TEXT NOT NULL,
  attempts     INTEGER NOT NULL DEFAULT 0,
  lease_id     TEXT,            -- the latest lease, live or not
  result       TEXT,            -- the last accepted report
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  finished_at  INTEGER
);
CREATE INDEX tasks_queue ON tasks (state, priority DESC, seq);
CREATE INDEX tasks_project ON tasks (project, state);

CREATE TABLE leases (
  id         TEXT PRIMARY KEY,
  task_id    TEXT NOT NULL REFERENCES tasks(id),
  worker     TEXT NOT NULL,
  attempt    INTEGER NOT NULL,
  granted_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  ended_at   INTEGER,
  end_reason TEXT               -- completed | failed | blocked | expired | canceled | released
);
CREATE INDEX leases_task ON leases (task_id);
CREATE INDEX leases_live_deadline ON leases (expires_at) WHERE ended_at IS NULL;
CREATE INDEX leases_live_worker ON leases (worker) WHERE ended_at IS NULL;

CREATE TABLE reports (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id       TEXT NOT NULL REFERENCES tasks(id),
  lease_id      TEXT NOT NULL,
  worker        TEXT NOT NULL,
  attempt       INTEGER,
  status        TEXT NOT NULL,
  summary       TEXT NOT NULL,
  deliverables  TEXT NOT NULL,
  context_score INTEGER,
  question      TEXT,
  details       TEXT,
  accepted      INTEGER NOT NULL,
  rejection     TEXT,
  created_at    INTEGER NOT NULL
);
CREATE INDEX reports_task ON reports (task_id);

CREATE TABLE workers (
  id              TEXT PRIMARY KEY,
  first_seen_at   INTEGER NOT NULL,
  last_seen_at    INTEGER NOT NULL,
  offline_at      INTEGER,
  tasks_completed INTEGER NOT NULL DEFAULT 0,
  tasks_failed    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE events (
  seq     INTEGER PRIMARY KEY AUTOINCREMENT,
  type    TEXT NOT NULL,
  project TEXT,
  task_id TEXT,
  worker  TEXT,
  data    TEXT NOT NULL,
  at      INTEGER NOT NULL
);
CREATE INDEX events_project ON events (project, seq);
CREATE INDEX events_task ON events (task_id);
