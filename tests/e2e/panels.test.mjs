// The side panels: the environment (values, masked ones as [MASKED], and where GitLab's came
// from) and the session's history (each step run, with its outcome).

import assert from 'node:assert/strict';

import { cellNamed, describeCells, openRunbook, pageText, uiTest, waitForState } from './support.mjs';

const RUNBOOK = 'e2e/panels.md'; // steps: gitlab, greeting, fails
const DB_PASSWORD = process.env.TEJUN_DB_PASSWORD || '';

async function envRow(page, name) {
  const row = page.locator(`[data-testid=env-panel] [data-testid=env-row][data-name="${name}"]`);
  await row.waitFor({ state: 'visible', timeout: 30_000 }).catch(async () => {
    const names = await page.locator('[data-testid=env-row]').evaluateAll((rows) => rows.map((r) => r.dataset.name));
    assert.fail(`no row for ${name} in the environment panel; rows: ${names.join(' ')}`);
  });
  return row.innerText();
}

uiTest('panels: environment with GitLab sources and masking; history of the session', { timeout: 120_000 }, async (t, page) => {
  await openRunbook(page, RUNBOOK);
  await page.getByTestId('run-all').click();
  const fails = cellNamed(page, 'fails');
  await waitForState(page, fails, ['ok', 'error'], 60_000, 'the fails step');
  for (const name of ['gitlab', 'greeting']) {
    assert.equal(await cellNamed(page, name).getAttribute('data-state'), 'ok', `${name} should be ok; cells:\n${await describeCells(page)}`);
  }
  assert.equal(await fails.getAttribute('data-state'), 'error', 'the failing step is marked');
  assert.ok((await fails.getByTestId('outputs').innerText()).includes('this step fails'), 'its stderr is shown');

  await page.getByTestId('toggle-env').click();
  const panel = page.getByTestId('env-panel');
  await panel.waitFor({ state: 'visible' });
  assert.match(await envRow(page, 'GREETING'), /hello from the session/);
  const password = await envRow(page, 'DB_PASSWORD');
  assert.match(password, /\[MASKED\]/, 'DB_PASSWORD is masked');
  // A variable %gitlab variables loaded says which project (and environment) it came from.
  const fromGitlab = await panel.locator('[data-testid=env-row]').filter({ hasText: 'ops/runbooks' }).count();
  assert.ok(fromGitlab > 0, `some rows should name the project ops/runbooks:\n${await panel.innerText()}`);

  await page.getByTestId('toggle-history').click();
  const rows = page.locator('[data-testid=history-panel] [data-testid=history-row]');
  await rows.first().waitFor({ state: 'visible' });
  const outcomes = await rows.evaluateAll((list) => list.map((row) => row.dataset.outcome));
  assert.deepEqual(outcomes.slice().sort(), ['error', 'ok', 'ok'], `one row per step run, newest first: ${outcomes}`);
  assert.equal(outcomes[0], 'error', 'the newest row is the failed step');
  const history = await page.getByTestId('history-panel').innerText();
  assert.match(history, /fails/);
  assert.match(history, /\d+\.\d\d s/, 'each finished step has its duration');

  if (DB_PASSWORD) {
    assert.ok(!(await pageText(page)).includes(DB_PASSWORD), 'the database password must not be on the page');
  }
});
