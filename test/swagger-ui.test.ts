// The engineer's view: Swagger UI at /docs, in a real (headless Debian) Chromium, can "Try it out"
// with the shown example: the same-origin request passes the cross-origin guard and creates the task.
import t from 'tap'
import { existsSync } from 'node:fs'
import { chromium } from 'playwright-core'
import { listen } from './helper.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

const noChromium = `no Chromium at ${CHROMIUM}: apt-get install chromium (.ci/run does), or set CHROMIUM_PATH`
t.test('Swagger UI: Try it out on POST /tasks creates the example task', { skip: existsSync(CHROMIUM) ? false : noChromium }, async (t) => {
  const { app, url } = await listen(t)
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  })
  t.teardown(() => browser.close())
  const page = await browser.newPage()
  await page.goto(`${url}/docs/`)
  const op = page.locator('#operations-coordinator-createTasks')
  await op.locator('.opblock-summary').click()
  await op.locator('button.execute').click()
  const status = op.locator('.live-responses-table tr.response .response-col_status').first()
  await status.waitFor({ timeout: 15_000 })
  t.equal((await status.textContent())?.trim(), '201', 'the UI shows 201 Created')
  const task = await app.inject('/tasks/try-summary')
  t.equal(task.statusCode, 200, 'the example task exists')
  t.equal(task.json().task.project, 'swagger-try')
})
