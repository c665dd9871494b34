// examples/database-health.md run whole from the UI against the real PostgreSQL run_e2e.py
// started: every step succeeds, the SQL result shows as a table, and the password shows nowhere.

import assert from 'node:assert/strict';

import {
  cellNamed, codeCells, describeCells, openRunbook, pageText, screenshot, uiTest, waitForAllDone,
} from './support.mjs';

const RUNBOOK = 'examples/database-health.md';
const STEPS = ['variables', 'connect', 'activity', 'connections', 'long-running', 'sizes'];
const RUN_TIMEOUT = 60_000;
// The cluster's password (tests/python/postgres_cluster.py), as written and percent-encoded.
const PASSWORD = process.env.TEJUN_DB_PASSWORD || '';

async function runAll(page) {
  await openRunbook(page, RUNBOOK);
  const names = await page.getByTestId('cell-name').allTextContents();
  assert.deepEqual(names.map((name) => name.trim()), STEPS, `the steps of ${RUNBOOK}, by their cell-name`);
  await page.getByTestId('run-all').click();
  await waitForAllDone(page, RUN_TIMEOUT);
}

function assertNoSecret(text, what) {
  assert.ok(PASSWORD, 'TEJUN_DB_PASSWORD is not set: run_e2e.py gives the tests the cluster\'s password');
  for (const form of [PASSWORD, encodeURIComponent(PASSWORD)]) {
    assert.ok(!text.includes(form), `the database password (${form.length} characters) shows in ${what}`);
  }
}

uiTest('run all: database-health.md runs every step against PostgreSQL', { timeout: 120_000 }, async (t, page) => {
  await runAll(page);

  // The kernel has DB_* from the server's environment; the step `connections` binds
  // :max_connections_percent, the runbook's front-matter parameter (80), which the UI must apply.
  const failed = codeCells(page).and(page.locator('[data-state=error]'));
  assert.equal(await failed.count(), 0, `no step should fail; cells:\n${await describeCells(page)}`);

  const activity = cellNamed(page, 'activity');
  assert.equal(await activity.count(), 1, 'one cell is named activity');
  // textContent: the label may be styled in capitals.
  assert.equal((await activity.getByTestId('cell-language').textContent()).trim(), 'sql', 'activity is an SQL step');
  const table = activity.locator('[data-testid=outputs] table[data-testid=sql-table]');
  assert.equal(await table.count(), 1, `activity shows one sql-table; its cell:\n${await describeCells(page)}`);
  const rows = await table.locator('tr:has(td)').count();
  assert.ok(rows >= 1, `the activity table has ${rows} rows, at least 1 expected (this session is one)`);
  const header = (await table.locator('th').allTextContents()).map((text) => text.trim());
  assert.ok(header.some((text) => text.includes('state')) && header.some((text) => text.includes('sessions')),
    `the activity table's columns are state and sessions, not ${JSON.stringify(header)}`);
  const rowCount = (await activity.getByTestId('row-count').innerText()).trim();
  assert.match(rowCount, /\d/, `the row-count of activity should say how many rows, it says "${rowCount}"`);

  assertNoSecret(await pageText(page), 'the page\'s text');
  assertNoSecret(await page.content(), 'the page\'s HTML');

  await screenshot(page, 'runbook.png', { fullPage: true });
});

uiTest('dark theme: the runbook follows a dark system preference', { timeout: 120_000 }, async (t, page) => {
  await runAll(page);
  await page.emulateMedia({ colorScheme: 'dark' });
  try {
    await page.locator('body[data-theme=dark]').waitFor({ state: 'attached', timeout: 5000 });
  } catch {
    const theme = await page.locator('body').getAttribute('data-theme');
    assert.fail(`with prefers-color-scheme: dark, body[data-theme] should become dark; it is ${theme}`);
  }
  assertNoSecret(await pageText(page), 'the page\'s text');
  await screenshot(page, 'runbook-dark.png', { fullPage: true });
});
