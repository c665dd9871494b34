// Editing and saving: a change typed in a step's editor is saved with Control+S back into the
// Markdown file and survives a reload; a save the server refuses as stale (someone else changed
// the file) opens the conflict dialog, which can reload the other version or overwrite it.

import assert from 'node:assert/strict';

import {
  appendLine, cellNamed, noticeText, openRunbook, pageText, readFile, screenshot, uiTest, waitForDirty,
  waitForRunbook, writeFile,
} from './support.mjs';

uiTest('edit, save and reload: a typed line reaches the Markdown file', { timeout: 90_000 }, async (t, page) => {
  const runbook = 'e2e/edit.md';
  const line = 'echo edited-in-the-browser';
  await openRunbook(page, runbook);
  const cell = cellNamed(page, 'greet');
  assert.equal(await cell.count(), 1, `${runbook} has one step named greet`);
  assert.ok(!(await page.getByTestId('dirty').isVisible()), 'a runbook just opened has no unsaved changes');

  await appendLine(page, cell, line);
  await waitForDirty(page, true);
  await page.keyboard.press('Control+S');
  await waitForDirty(page, false);

  await page.reload({ waitUntil: 'domcontentloaded' });
  await waitForRunbook(page, runbook);
  const source = await cellNamed(page, 'greet').getByTestId('cell-source').innerText();
  assert.ok(source.includes('echo before') && source.includes(line),
    `after a reload the step should hold both lines, it holds:\n${source}`);

  const text = await readFile(runbook);
  assert.ok(text.includes(`echo before\n${line}\n`), `the saved file should have the new line in the step:\n${text}`);
  assert.ok(text.includes('```sh {name=greet}'), `the file should stay Markdown, with its step's fence:\n${text}`);
  assert.ok(text.startsWith('# Edit and save'), `the prose should be kept:\n${text}`);
});

// Waits for the conflict dialog that a stale save opens.
async function conflictDialog(page) {
  const dialog = page.getByTestId('conflict-dialog');
  try {
    await dialog.waitFor({ state: 'visible', timeout: 10_000 });
  } catch {
    assert.fail(`saving over a file changed on disk should open the conflict-dialog. ${await noticeText(page)}`);
  }
  return dialog;
}

uiTest('stale save: the conflict dialog reloads or overwrites', { timeout: 120_000 }, async (t, page) => {
  const runbook = 'e2e/conflict.md';
  const original = await readFile(runbook);
  assert.ok(original.includes('The original prose.'), `${runbook} as the tests wrote it:\n${original}`);
  await openRunbook(page, runbook);
  const cell = cellNamed(page, 'greet');

  // 1. A change in the UI, another on disk, then Control+S: reload takes the disk's version.
  await appendLine(page, cell, 'echo from-the-ui-1');
  await waitForDirty(page, true);
  await writeFile(runbook, original.replace('The original prose.', 'Changed on disk, first time.'));
  await page.keyboard.press('Control+S');
  let dialog = await conflictDialog(page);
  await screenshot(page, 'conflict.png');
  await dialog.getByTestId('conflict-reload').click();
  await dialog.waitFor({ state: 'hidden' });
  await waitForRunbook(page, runbook);
  try {
    await page.getByTestId('runbook').getByText('Changed on disk, first time.').waitFor({ state: 'visible' });
  } catch {
    assert.fail(`after conflict-reload the runbook should show the change made on disk; it shows:\n` +
      `${await pageText(page)}`);
  }
  const reloaded = await cellNamed(page, 'greet').getByTestId('cell-source').innerText();
  assert.ok(!reloaded.includes('from-the-ui-1'), `after conflict-reload the UI's edit is dropped:\n${reloaded}`);
  await waitForDirty(page, false);
  assert.equal(await readFile(runbook), original.replace('The original prose.', 'Changed on disk, first time.'),
    'conflict-reload must not write the file');

  // 2. The same again, and overwrite: the file gets the UI's version.
  const onDisk = await readFile(runbook);
  await appendLine(page, cellNamed(page, 'greet'), 'echo from-the-ui-2');
  await waitForDirty(page, true);
  await writeFile(runbook, onDisk.replace('Changed on disk, first time.', 'Changed on disk, second time.'));
  await page.keyboard.press('Control+S');
  dialog = await conflictDialog(page);
  await dialog.getByTestId('conflict-overwrite').click();
  await dialog.waitFor({ state: 'hidden' });
  await waitForDirty(page, false);
  const saved = await readFile(runbook);
  assert.ok(saved.includes('echo original\necho from-the-ui-2\n'), `the file should have the UI's step:\n${saved}`);
  assert.ok(saved.includes('Changed on disk, first time.') && !saved.includes('Changed on disk, second time.'),
    `the file should have the UI's prose (the first change on disk), not the second one:\n${saved}`);
});
