-- Issue 15: questions the coordinator asks the engineer (not tied to a worker's lease), and notices a
-- worker is told on its next claim or report (where a task it asked about went).
CREATE TABLE questions (
  seq         INTEGER PRIMARY KEY,  -- the id is question-<seq>
  project     TEXT NOT NULL,
  task_id     TEXT,                 -- a task the question is about, or NULL
  message     TEXT NOT NULL,
  asked_by    TEXT,
  asked_at    INTEGER NOT NULL,
  answer      TEXT,                 -- NULL while open
  answered_by TEXT,
  answered_at INTEGER
);
-- The open questions, for the escalation queue (a handful; answered ones cost nothing).
CREATE INDEX questions_open ON questions (project, seq) WHERE answered_at IS NULL;

ALTER TABLE workers ADD COLUMN notices TEXT NOT NULL DEFAULT '[]';  -- JSON array of notices not yet told
