// Interrupt from the toolbar stops a running step at once and leaves the kernel usable.

import assert from 'node:assert/strict';

import { cellNamed, openRunbook, uiTest, waitForKernel, waitForState } from './support.mjs';

const RUNBOOK = 'e2e/interrupt.md'; // one step: sleep 60
const INTERRUPT_BAR = 2000; // ms from the click until the step is no longer running

uiTest('interrupt: a running `sleep 60` stops within 2 s of the click', { timeout: 90_000 }, async (t, page) => {
  await openRunbook(page, RUNBOOK);
  const cell = cellNamed(page, 'sleep');
  assert.equal(await cell.count(), 1, `${RUNBOOK} has one step named sleep`);

  await cell.getByTestId('run-step').click();
  // The first run starts the kernel: allow for that.
  await waitForState(page, cell, ['running'], 30_000, 'the sleep step');

  const clicked = Date.now();
  await page.getByTestId('interrupt').click();
  await waitForState(page, cell, ['ok', 'error', 'idle'], 10_000, 'the interrupted step');
  const elapsed = Date.now() - clicked;
  t.diagnostic(`the step left "running" ${elapsed} ms after the interrupt click`);
  assert.ok(elapsed <= INTERRUPT_BAR,
    `the step should leave "running" within ${INTERRUPT_BAR} ms of the interrupt click; it took ${elapsed} ms`);
  assert.notEqual(await cell.getAttribute('data-state'), 'ok', 'an interrupted step is not ok');

  await waitForKernel(page, 'idle', 10_000);
});
