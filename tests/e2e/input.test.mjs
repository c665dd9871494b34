// The kernel's input requests in the page: a %confirm answered in the input-prompt form, and a
// %secret asked in a password field whose value never shows again.

import assert from 'node:assert/strict';

import {
  cellNamed, describeCells, openRunbook, pageText, screenshot, uiTest, waitForState,
} from './support.mjs';

const RUNBOOK = 'e2e/input.md'; // steps: confirm, secret, use-secret
const SECRET = 's3cr3t-value';

// Waits for the input-prompt form of CELL (TESTIDS.md lists it with the outputs; it is looked
// for anywhere in the cell).
async function promptIn(page, cell, what) {
  const form = cell.locator('form[data-testid=input-prompt]');
  try {
    await form.waitFor({ state: 'visible', timeout: 30_000 });
  } catch {
    assert.fail(`${what}: no input-prompt form appeared in the step's cell within 30 s; cells:\n` +
      `${await describeCells(page)}`);
  }
  return form;
}

async function streamText(cell, name) {
  return (await cell.locator(`[data-testid=stream][data-name=${name}]`).allInnerTexts()).join('');
}

uiTest('input: %confirm and %secret are asked in the page', { timeout: 120_000 }, async (t, page) => {
  await openRunbook(page, RUNBOOK);
  const confirm = cellNamed(page, 'confirm');
  const secret = cellNamed(page, 'secret');
  const useSecret = cellNamed(page, 'use-secret');
  for (const [cell, name] of [[confirm, 'confirm'], [secret, 'secret'], [useSecret, 'use-secret']]) {
    assert.equal(await cell.count(), 1, `${RUNBOOK} has one step named ${name}`);
  }

  await page.getByTestId('run-all').click();

  // %confirm "Restart the primary? [yes/no]", then `echo confirmed`.
  const question = await promptIn(page, confirm, '%confirm');
  const label = await question.getByTestId('input-label').innerText();
  assert.match(label, /Restart the primary\?/, `the prompt's label should be the question, it is "${label}"`);
  const answer = question.locator('input[data-testid=input-field]');
  assert.notEqual(await answer.getAttribute('type'), 'password', 'a confirmation is not asked as a password');
  await screenshot(page, 'prompt.png');
  await answer.fill('yes');
  await question.getByTestId('input-submit').click();
  await waitForState(page, confirm, ['ok', 'error'], 30_000, 'the confirm step');
  assert.equal(await confirm.getAttribute('data-state'), 'ok',
    `the confirm step answered yes should succeed; cells:\n${await describeCells(page)}`);
  const stdout = await streamText(confirm, 'stdout');
  assert.match(stdout, /confirmed/, `the confirm step's stdout should say confirmed, it is "${stdout}"`);

  // %secret API_TOKEN: a password field.
  const ask = await promptIn(page, secret, '%secret');
  const field = ask.locator('input[data-testid=input-field]');
  assert.equal(await field.getAttribute('type'), 'password', 'a secret is asked in an input of type=password');
  await field.fill(SECRET);
  await ask.getByTestId('input-submit').click();
  await waitForState(page, secret, ['ok', 'error'], 30_000, 'the secret step');
  assert.equal(await secret.getAttribute('data-state'), 'ok',
    `the secret step should succeed; cells:\n${await describeCells(page)}`);

  // echo "$API_TOKEN" prints the mask, never the value.
  await waitForState(page, useSecret, ['ok', 'error'], 30_000, 'the use-secret step');
  assert.equal(await useSecret.getAttribute('data-state'), 'ok',
    `echo "$API_TOKEN" should succeed; cells:\n${await describeCells(page)}`);
  const echoed = await streamText(useSecret, 'stdout');
  assert.match(echoed, /\[MASKED\]/, `echo "$API_TOKEN" should print [MASKED], it printed "${echoed}"`);
  assert.ok(!(await pageText(page)).includes(SECRET), 'the secret\'s value shows in the page\'s text');
  assert.ok(!(await page.content()).includes(SECRET), 'the secret\'s value is in the page\'s HTML');
});
