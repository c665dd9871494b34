// 20 MB of output: the page keeps answering clicks within 1 s while the output streams in and
// after, and the long stream is shown as head and tail with a show-all button.

import assert from 'node:assert/strict';

import { cellNamed, describeCells, openRunbook, uiTest, waitForState } from './support.mjs';

const RUNBOOK = 'e2e/big-output.md'; // one step, flood: 20,000,000 x in lines of 100
const CLICK_BAR = 1000; // ms from a click until the page has shown its effect
const RUN_TIMEOUT = 120_000;

// Clicks toggle-history and returns the ms until the history panel has appeared or gone.
async function timedToggle(page) {
  const panel = page.getByTestId('history-panel');
  const wasVisible = await panel.isVisible();
  const started = Date.now();
  await page.getByTestId('toggle-history').click({ timeout: 30_000 });
  await panel.waitFor({ state: wasVisible ? 'hidden' : 'visible', timeout: 30_000 });
  return Date.now() - started;
}

uiTest('20 MB of output: the page answers a click within 1 s', { timeout: 300_000 }, async (t, page) => {
  await openRunbook(page, RUNBOOK);
  const cell = cellNamed(page, 'flood');
  assert.equal(await cell.count(), 1, `${RUNBOOK} has one step named flood`);

  const samples = []; // {when, ms}
  await cell.getByTestId('run-step').click();
  // The first click right after the run starts; then more while the step has not ended.
  samples.push({ when: 'just after run-step', ms: await timedToggle(page) });
  await waitForState(page, cell, ['queued', 'running', 'ok', 'error'], 30_000, 'the flood step, after run-step,');
  const end = Date.now() + RUN_TIMEOUT;
  for (;;) {
    const state = await cell.getAttribute('data-state', { timeout: 30_000 });
    if (state === 'ok' || state === 'error' || Date.now() > end) break;
    samples.push({ when: `while ${state}`, ms: await timedToggle(page) });
  }
  await waitForState(page, cell, ['ok', 'error'], Math.max(end - Date.now(), 5000), 'the flood step');
  assert.equal(await cell.getAttribute('data-state'), 'ok', `the flood step should succeed; cells:\n${await describeCells(page)}`);
  for (let i = 0; i < 2; i += 1) samples.push({ when: 'after the step ended', ms: await timedToggle(page) });

  const report = samples.map(({ when, ms }) => `${when}: ${ms} ms`).join('\n');
  t.diagnostic(`toggle-history → history-panel:\n${report}`);
  const slow = samples.filter(({ ms }) => ms > CLICK_BAR);
  assert.equal(slow.length, 0, `every click should take effect within ${CLICK_BAR} ms; these did not:\n` +
    `${slow.map(({ when, ms }) => `${when}: ${ms} ms`).join('\n')}`);

  const outputs = cell.getByTestId('outputs');
  assert.ok(await outputs.getByTestId('show-all').count() >= 1, 'a 20 MB stream should be cut, with a show-all button');
  const shown = await outputs.locator('[data-testid=stream][data-name=stdout]').first().innerText();
  assert.ok(shown.includes('x'.repeat(100)), 'the stream should show lines of 100 x');

  // Show all: every one of the 200,000 lines, in a view that draws only those in sight.
  const started = Date.now();
  await outputs.getByTestId('show-all').first().click();
  const all = outputs.getByTestId('stream-all');
  await all.waitFor({ state: 'visible' });
  t.diagnostic(`show all: ${Date.now() - started} ms`);
  assert.match(await all.getAttribute('aria-label'), /^stdout, 200000 lines$/);
  await all.evaluate((box) => { box.scrollTop = box.scrollHeight; });
  await page.waitForFunction((box) => box.innerText.trimEnd().endsWith('x'.repeat(100)), await all.elementHandle());
  await timedToggle(page);
});
