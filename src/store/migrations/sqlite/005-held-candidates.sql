-- `GET /status` lists the held tasks of a project: submitted tasks that wait for dependencies, a
-- backoff or reservation, or overlapping writes. It used to read the first 500 submitted tasks and
-- keep those with a hold, so its cost grew with the queue and a held task queued behind 500 others
-- was never listed. This index holds only the submitted tasks that can be held at all (with
-- dependencies, an availableAt, or declared writes): the listing walks them in posting order, and a
-- plain task costs it nothing, neither when posted nor when claimed.
CREATE INDEX tasks_maybe_held ON tasks (project, seq)
  WHERE state = 'submitted' AND (depends_on <> '[]' OR available_at > 0 OR has_writes = 1);
