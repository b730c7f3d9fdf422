-- Claims use an index whatever the filter (project, type, both or none), so a claim's cost does not
-- grow with tasks queued elsewhere; (project, state, ...) also serves "has the project an open task".
DROP INDEX tasks_project;
CREATE INDEX tasks_queue_project ON tasks (project, state, priority DESC, seq);
CREATE INDEX tasks_queue_type ON tasks (type, state, priority DESC, seq);
CREATE INDEX tasks_queue_project_type ON tasks (project, type, state, priority DESC, seq);

-- One live lease per worker, enforced by the database. Earlier versions could (in a race) leave a
-- worker two live leases: keep the oldest, end the others as expired and requeue their tasks.
CREATE TEMP TABLE extra_leases AS
  SELECT l.id, l.task_id FROM leases l
  WHERE l.ended_at IS NULL AND EXISTS (
    SELECT 1 FROM leases o WHERE o.worker = l.worker AND o.ended_at IS NULL
      AND (o.granted_at < l.granted_at OR (o.granted_at = l.granted_at AND o.rowid < l.rowid)));
UPDATE tasks SET state = 'submitted' WHERE state = 'working' AND lease_id IN (SELECT id FROM extra_leases);
UPDATE leases SET ended_at = expires_at, end_reason = 'expired' WHERE id IN (SELECT id FROM extra_leases);
DROP TABLE extra_leases;
DROP INDEX leases_live_worker;
CREATE UNIQUE INDEX leases_live_worker ON leases (worker) WHERE ended_at IS NULL;
