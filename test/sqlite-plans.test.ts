// The hot SQLite queries walk an index: a claim's cost must not grow with tasks queued elsewhere
// (checked with EXPLAIN QUERY PLAN, which names the index a query uses or says SCAN for a full scan).
import t, { type Test } from 'tap'
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { openSqliteStore } from '../src/store/sqlite-open.js'
import { pickSql } from '../src/store/sqlite-tx.js'
import { TASK_SELECT } from '../src/store/sqlite-rows.js'
import { ATTENTION_SQL, listSql, MAYBE_HELD_SQL } from '../src/store/sqlite-reads.js'
import { tempDir } from './helper.js'

/** Params of one statement: named (`@x`) or positional (`?`). */
type Params = Record<string, unknown> | unknown[]

/**
 * A freshly migrated database file, opened read-only, and a function giving a statement's
 * EXPLAIN QUERY PLAN as one line (`detail | detail ...`); the database closes when the test ends.
 */
async function planner (t: Test): Promise<(sql: string, params: Params) => string> {
  const file = join(tempDir(), 'coord.db')
  await openSqliteStore(file).close()
  const db = new Database(file, { readonly: true })
  t.teardown(() => db.close())
  return (sql, params) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as Array<{ detail: string }>).map((r) => r.detail).join(' | ')
}

t.test('claims, live-lease lookups and open-task checks use indexes', async (t) => {
  const plan = await planner(t)
  const shapes = [{}, { project: 'p' }, { type: 'x' }, { project: 'p', type: 'x' }]
  for (const filter of shapes) {
    for (const [skip, exclude] of [[false, false], [true, false], [true, true]] as const) {
      const p = plan(pickSql(filter, skip, exclude), { ...filter, now: 1, ...(skip ? { worker: 'w' } : {}), ...(exclude ? { exclude: '["a"]' } : {}) })
      // The queue indexes hold only submitted tasks: with no filter the claim walks tasks_queue in claim order (SCAN ... USING INDEX).
      t.match(p, /(SEARCH|SCAN) t USING INDEX tasks_queue/, `claim ${JSON.stringify(filter)}${skip ? ' skipping retries' : ''}${exclude ? ' past held tasks' : ''}: ${p}`)
      t.notMatch(p, /SCAN t\b(?! USING (COVERING )?INDEX)/, 'no full scan of tasks')
      t.notMatch(p, /TEMP B-TREE/, 'no sort: the index gives claim order')
    }
  }
  t.match(plan('SELECT * FROM leases WHERE worker = ? AND ended_at IS NULL', ['w']), /USING INDEX leases_live_worker/)
  t.match(plan('SELECT * FROM leases WHERE ended_at IS NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?', [1, 1]), /USING INDEX leases_live_deadline/)
  t.match(plan('SELECT EXISTS (SELECT 1 FROM tasks WHERE project = ? AND state = ?) AS e', ['p', 'working']), /USING COVERING INDEX tasks_project_state/)
  t.match(plan('SELECT state, count(*) AS n FROM tasks WHERE project = ? GROUP BY state', ['p']), /USING COVERING INDEX tasks_project_state/,
    'the state counts of a finishing project')
  for (const project of ['p', null]) {
    t.match(plan(ATTENTION_SQL, { state: 'input-required', project, limit: 10 }), /SEARCH t USING INDEX tasks_project_state \(project=\? AND state=\?\)/,
      `the escalation lookup by state (project ${String(project)})`)
  }
  t.match(plan(`SELECT t.id FROM tasks t INDEXED BY tasks_reserved WHERE t.reserved_for = @worker AND t.state = 'submitted' AND t.deps_pending = 0
    AND (@project IS NULL OR t.project = @project) AND (@type IS NULL OR t.type = @type) ORDER BY t.priority DESC, t.seq LIMIT 1`,
  { worker: 'w', project: null, type: null }), /USING INDEX tasks_reserved/, 'the reservation lookup before each claim')
  t.match(plan(`SELECT t.id, t.files, l.worker FROM tasks t LEFT JOIN leases l ON l.id = t.lease_id AND l.ended_at IS NULL
    WHERE t.project = ? AND t.state = 'working' AND t.has_writes = 1`, ['p']), /USING INDEX tasks_(working_writes|project_state)/, 'the file-conflict check')
  t.match(plan('SELECT min(available_at) AS d FROM tasks INDEXED BY tasks_available ' +
    'WHERE state = \'submitted\' AND available_at > 0 AND available_at > ?', [1]),
  /USING (COVERING )?INDEX tasks_available/, 'the next backoff end')
})

// Every statement a worker cycle runs (claim, report, their events) finds its rows through an index, so its
// cost stays flat however many tasks are queued or finished.
t.test('the statements of a worker cycle never scan a table', async (t) => {
  const plan = await planner(t)
  const hot: Array<[string, Params]> = [
    [`${TASK_SELECT} WHERE t.id = ?`, ['a']],
    ['SELECT t.id, t.project, t.state, t.lease_id FROM tasks t WHERE t.id = ?', ['a']],
    ['UPDATE tasks SET state = @state, updated_at = @u WHERE id = @id', { state: 'working', u: 1, id: 'a' }],
    ['SELECT * FROM leases WHERE id = ?', ['l']],
    ['UPDATE leases SET ended_at = @e, end_reason = @r WHERE id = @id', { e: 1, r: 'completed', id: 'l' }],
    ['SELECT name, created_at, closed_at, finished_at FROM projects WHERE name = ?', ['p']],
    ['SELECT * FROM workers WHERE id = ?', ['w']],
    ['UPDATE workers SET tasks_completed = tasks_completed + 1 WHERE id = ?', ['w']],
    ['SELECT min(expires_at) AS d FROM leases WHERE ended_at IS NULL', []],
  ]
  for (const [sql, params] of hot) {
    const p = plan(sql, params)
    t.notMatch(p, /\bSCAN (t|tasks|leases|projects|workers|events|reports)\b/, `${sql.slice(0, 80)}: ${p}`)
  }
})

// GET /tasks?project=&state= and the held list of GET /status are read by coordinators and dashboards
// while a project runs: their cost must follow the page, not the project's size.
t.test('task listings by project and state, and the held list, walk an index in posting order', async (t) => {
  const plan = await planner(t)
  for (const state of ['submitted', 'completed', 'input-required']) {
    const p = plan(listSql({ project: 'p', state: 'submitted' }), { after: 0, project: 'p', state, limit: 51 })
    t.match(p, /SEARCH t USING INDEX tasks_project_state \(project=\? AND state=\? AND rowid>\?\)/, `GET /tasks?project=p&state=${state}: ${p}`)
    t.notMatch(p, /TEMP B-TREE/, 'no sort: the index gives posting order')
  }
  const held = plan(MAYBE_HELD_SQL, { project: 'p', limit: 500 })
  t.match(held, /SEARCH t USING INDEX tasks_maybe_held \(project=\?\)/, `the held list of a project (across projects: one walk each): ${held}`)
  t.notMatch(held, /TEMP B-TREE/, 'in posting order without a sort')
})
