// The file browser: a new runbook is created and opened, then renamed and deleted from its row,
// and files are uploaded, each checked on the server through the REST API.

import assert from 'node:assert/strict';

import {
  api, eventually, exists, makeFolder, navigate, openTree, screenshot, uiTest, waitForRunbook,
} from './support.mjs';

const FOLDER = 'e2e/files';

function entry(page, entryPath) {
  return page.locator(`[data-testid=file-entry][data-path="${entryPath}"]`);
}

async function waitForEntry(page, entryPath, present) {
  try {
    await entry(page, entryPath).waitFor({ state: present ? 'visible' : 'detached' });
  } catch {
    const shown = await page.getByTestId('file-entry').evaluateAll(
      (rows) => rows.map((row) => row.dataset.path).join(', '));
    assert.fail(`the file browser should ${present ? 'list' : 'no longer list'} ${entryPath}; it lists: ${shown}`);
  }
}

// Waits until the route is the file browser on FOLDER.
async function inFolder(page, folder) {
  try {
    await page.waitForFunction((wanted) => decodeURI(window.location.hash).replace(/\/$/, '') === wanted,
      `#/tree/${folder}`, { timeout: 10_000 });
    await page.getByTestId('browser').waitFor({ state: 'visible' });
  } catch {
    assert.fail(`the folder's link should open #/tree/${folder}; the page is at ${page.url().replace(/\?.*#/, '#')}`);
  }
}

// Answers the open dialog: NAME in its input (if given), then OK.
async function answerDialog(page, name) {
  const dialog = page.getByTestId('dialog');
  await dialog.waitFor({ state: 'visible' });
  if (name !== undefined) await dialog.getByTestId('dialog-input').fill(name);
  await dialog.getByTestId('dialog-ok').click();
  await dialog.waitFor({ state: 'hidden' });
}

async function rowAction(page, entryPath, action) {
  const row = entry(page, entryPath);
  await row.hover(); // a row's buttons may show only on hover
  await row.locator(`[data-action=${action}]`).click();
}

uiTest('file browser: new runbook, rename, delete, upload', { timeout: 90_000 }, async (t, page) => {
  await makeFolder(FOLDER);

  // The root lists the examples and the tests' folder; a folder's link opens it.
  await openTree(page, '');
  await waitForEntry(page, 'examples', true);
  assert.equal(await entry(page, 'examples').getAttribute('data-type'), 'directory', 'examples is a directory');
  await waitForEntry(page, 'e2e', true);
  await screenshot(page, 'browser.png');
  await entry(page, 'e2e').locator('a').first().click();
  await waitForEntry(page, FOLDER, true);
  await entry(page, FOLDER).locator('a').first().click();
  await inFolder(page, FOLDER);

  // New runbook: it is created on the server and opened.
  const created = `${FOLDER}/checklist.md`;
  await page.getByTestId('new-runbook').click();
  await answerDialog(page, 'checklist.md');
  await waitForRunbook(page, created);
  assert.ok(await eventually(() => exists(created)), `the new runbook ${created} should exist on the server`);

  // Back to the folder: the new runbook is listed.
  await navigate(page, `#/tree/${FOLDER}`);
  await waitForEntry(page, created, true);

  // Rename from its row.
  const renamed = `${FOLDER}/renamed.md`;
  await rowAction(page, created, 'rename');
  await answerDialog(page, 'renamed.md');
  await waitForEntry(page, renamed, true);
  await waitForEntry(page, created, false);
  assert.ok(await exists(renamed), `after the rename ${renamed} should exist on the server`);
  assert.ok(!(await exists(created)), `after the rename ${created} should be gone from the server`);

  // Delete from its row, confirmed in the dialog.
  await rowAction(page, renamed, 'delete');
  await answerDialog(page);
  await waitForEntry(page, renamed, false);
  assert.ok(await eventually(async () => !(await exists(renamed))), `after the delete ${renamed} should be gone`);

  // Upload: a runbook and a binary file, through the file input; the bytes arrive as they were.
  const binary = Buffer.from([0, 1, 2, 254, 255, 10, 13, 0x80]);
  await page.getByTestId('upload').setInputFiles([
    { name: 'uploaded.md', mimeType: 'text/markdown', buffer: Buffer.from('# Uploaded\n\n```sh\necho hi\n```\n') },
    { name: 'blob.bin', mimeType: 'application/octet-stream', buffer: binary },
  ]);
  await waitForEntry(page, `${FOLDER}/uploaded.md`, true);
  await waitForEntry(page, `${FOLDER}/blob.bin`, true);
  const blob = await api('GET', `${FOLDER}/blob.bin`, { query: '?content=1&format=base64' });
  assert.equal(blob.status, 200, `GET ${FOLDER}/blob.bin: ${blob.text}`);
  assert.deepEqual(Buffer.from(blob.json.content, 'base64'), binary, 'the uploaded bytes on the server');
});
