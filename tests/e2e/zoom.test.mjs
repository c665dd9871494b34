// Readable at 200 % zoom, every control labelled and reachable by keyboard: at 200 % a
// 1280×800 window is 640×400 CSS pixels, so the page is checked at that size.

import assert from 'node:assert/strict';

import { openRunbook, openTree, screenshot, uiTest } from './support.mjs';

const RUNBOOK = 'examples/database-health.md';

// Buttons, links and fields without a name a screen reader could say.
async function unlabelled(page) {
  return page.evaluate(() => {
    const controls = document.querySelectorAll('button, a[href], input, select, textarea, [role=button]');
    const missing = [];
    for (const control of controls) {
      const style = getComputedStyle(control);
      if (style.display === 'none' || control.closest('[hidden]')) continue;
      const id = control.id;
      const label = id ? document.querySelector(`label[for="${CSS.escape(id)}"]`) : null;
      const name = (control.getAttribute('aria-label') || control.textContent || control.getAttribute('title') ||
        (label && label.textContent) || (control.closest('label') && control.closest('label').textContent) || '').trim();
      if (!name) missing.push(control.outerHTML.slice(0, 120));
    }
    return missing;
  });
}

async function overflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

uiTest('200 % zoom: nothing overflows sideways, every control has a label and takes the keyboard', { timeout: 60_000 }, async (t, page) => {
  await page.setViewportSize({ width: 640, height: 400 });

  await openTree(page);
  assert.ok(await overflow(page) <= 1, `the workspace is ${await overflow(page)} px wider than the window`);
  assert.deepEqual(await unlabelled(page), [], 'controls of the workspace without a label');

  await openRunbook(page, RUNBOOK);
  assert.ok(await overflow(page) <= 1, `the runbook is ${await overflow(page)} px wider than the window`);
  for (const id of ['run-all', 'interrupt', 'restart', 'save', 'kernel-status']) {
    assert.ok(await page.getByTestId(id).isVisible(), `${id} is visible at 200 %`);
  }
  assert.deepEqual(await unlabelled(page), [], 'controls of the runbook without a label');

  // Tab from the top reaches Run all, and Enter on it runs the steps.
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  let reached = false;
  for (let i = 0; i < 30 && !reached; i += 1) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement?.dataset.testid === 'run-all');
  }
  assert.ok(reached, 'Tab reaches the Run all button');
  await screenshot(page, 'zoom-200.png');
});
