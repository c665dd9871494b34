// What the browser tests share: the server they drive (from the environment run_e2e.py sets),
// a fresh Chromium per test, the REST calls they check the files with, and waits that fail
// with a message saying what was expected and what the page showed instead.
//
// The UI is found only through its contract, ui/TESTIDS.md (data-testid and data-* attributes).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { chromium } from 'playwright-core';

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the browser tests with tests/e2e/run_e2e.py, which starts ` +
      'PostgreSQL and tejun server and sets TEJUN_URL, TEJUN_TOKEN and TEJUN_ROOT');
  }
  return value;
}

export const BASE_URL = required('TEJUN_URL').replace(/\/+$/, '');
export const TOKEN = required('TEJUN_TOKEN');
export const ROOT = required('TEJUN_ROOT');
export const SCREENSHOTS = process.env.TEJUN_SCREENSHOTS || '';
export const CHROMIUM = process.env.TEJUN_CHROMIUM || '/usr/bin/chromium';
export const VIEWPORT = { width: 1280, height: 800 };

const READY_TIMEOUT = 30_000; // ms for a page of the UI to be shown and ready
const ACTION_TIMEOUT = 10_000; // ms for a click, a fill, an element to appear

// ---- the browser -----------------------------------------------------------------------------

// A fresh Chromium (Debian's, never a downloaded one) with a fresh profile: nothing is shared
// between tests, no cookie, no storage.
export async function launchBrowser({ colorScheme = 'light' } = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'tejun-e2e-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: VIEWPORT,
      colorScheme,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  } catch (error) {
    fs.rmSync(profile, { recursive: true, force: true });
    throw new Error(`Chromium (${CHROMIUM}) did not start: ${error.message}\n` +
      'install Debian\'s chromium (scripts/install-deps)');
  }
  context.setDefaultTimeout(ACTION_TIMEOUT);
  const page = context.pages()[0] ?? await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('requestfailed', (request) => {
    problems.push(`request failed: ${request.method()} ${request.url()}: ${request.failure()?.errorText}`);
  });
  return {
    context,
    page,
    problems,
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

// test(NAME, OPTIONS) with a fresh browser (OPTIONS.browser: launchBrowser's options): FN(t, page,
// browser). On failure the test's diagnostics give the page's URL, its errors and its text, and
// a screenshot failed-NAME.png is saved when TEJUN_SCREENSHOTS is set.
export function uiTest(name, options, fn) {
  const { browser: browserOptions, ...testOptions } = options;
  test(name, testOptions, async (t) => {
    const browser = await launchBrowser(browserOptions);
    try {
      await fn(t, browser.page, browser);
    } catch (error) {
      await describeFailure(t, name, browser);
      throw error;
    } finally {
      await browser.close();
    }
  });
}

async function describeFailure(t, name, browser) {
  const { page, problems } = browser;
  t.diagnostic(`page at failure: ${page.url().replace(/token=[^&#]*/, 'token=…')}`);
  for (const problem of problems.slice(-20)) t.diagnostic(problem);
  const text = await page.evaluate(() => document.body?.innerText ?? '').catch(() => '(no text)');
  t.diagnostic(`page text (last 1500 characters): ${text.slice(-1500)}`);
  if (SCREENSHOTS) {
    const file = `failed-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.png`;
    await screenshot(page, file, { fullPage: true }).catch(() => {});
  }
}

// Saves a screenshot NAME in TEJUN_SCREENSHOTS, if it is set.
export async function screenshot(page, name, { fullPage = false } = {}) {
  if (!SCREENSHOTS) return;
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  // A full page: the viewport is made as tall as the page, from the top, so that the sticky
  // toolbar is drawn at the top and every cell is drawn (the UI skips drawing cells far out of
  // view: content-visibility).
  const viewport = page.viewportSize();
  if (fullPage) {
    await page.evaluate(() => window.scrollTo(0, 0));
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    await page.setViewportSize({ width: viewport.width, height: Math.min(Math.max(height, viewport.height), 8000) });
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
  }
  try {
    await page.screenshot({ path: path.join(SCREENSHOTS, name), animations: 'disabled' });
  } finally {
    if (fullPage) await page.setViewportSize(viewport);
  }
}

// ---- pages of the UI ---------------------------------------------------------------------------

function uiUrl(hash) {
  return `${BASE_URL}/ui/?token=${encodeURIComponent(TOKEN)}#${hash}`;
}

async function go(page, hash) {
  const url = uiUrl(hash);
  const response = await page.goto(url, { waitUntil: 'domcontentloaded' });
  assert.ok(response, `no response to ${BASE_URL}/ui/`);
  assert.ok(response.ok(), `GET ${BASE_URL}/ui/ answered ${response.status()}: the server does not serve the UI`);
}

// Opens the runbook at PATH (relative to the root) and waits until it is ready for input.
export async function openRunbook(page, runbookPath) {
  await go(page, `/open/${encodeURI(runbookPath)}`);
  return waitForRunbook(page, runbookPath);
}

export async function waitForRunbook(page, runbookPath, timeout = READY_TIMEOUT) {
  const runbook = page.locator(`[data-testid=runbook][data-path="${runbookPath}"]`);
  try {
    await runbook.and(page.locator('[data-ready=true]')).waitFor({ state: 'visible', timeout });
  } catch (error) {
    const shown = await page.locator('[data-testid=runbook]').first().getAttribute('data-path', { timeout: 100 })
      .catch(() => null);
    throw new Error(`the runbook ${runbookPath} was not shown ready (data-ready="true") within ${timeout / 1000} s` +
      (shown !== null ? `; the runbook shown is ${shown}` : '; no runbook is shown') +
      `. ${await noticeText(page)}\n${error.message}`);
  }
  return runbook;
}

// Opens the file browser on FOLDER ('' for the root).
export async function openTree(page, folder = '') {
  await go(page, `/tree/${encodeURI(folder)}`);
  const browser = page.getByTestId('browser');
  await browser.waitFor({ state: 'visible', timeout: READY_TIMEOUT });
  return browser;
}

// Goes to another route of the already loaded UI, without reloading the page.
export async function navigate(page, hash) {
  await page.evaluate((value) => { window.location.hash = value; }, hash);
}

export async function noticeText(page) {
  const notice = page.getByTestId('notice');
  if ((await notice.count()) === 0) return 'No notice shown.';
  const kind = await notice.first().getAttribute('data-kind').catch(() => '?');
  return `Notice (${kind}): ${(await notice.first().innerText().catch(() => '')).trim()}`;
}

export async function pageText(page) {
  return page.evaluate(() => document.body.innerText);
}

// ---- cells --------------------------------------------------------------------------------------

export function codeCells(page) {
  return page.locator('[data-testid=cell][data-type=code]');
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// The code cell whose step is named NAME.
export function cellNamed(page, name) {
  const label = page.getByTestId('cell-name').filter({ hasText: new RegExp(`^\\s*${escapeRegExp(name)}\\s*$`) });
  return codeCells(page).filter({ has: label });
}

// A one-line account of every code cell: name, state, and the start of its outputs.
export async function describeCells(page) {
  return page.evaluate(() => [...document.querySelectorAll('[data-testid=cell][data-type=code]')].map((cell) => {
    const name = cell.querySelector('[data-testid=cell-name]')?.textContent.trim() || `#${cell.dataset.index}`;
    const outputs = (cell.querySelector('[data-testid=outputs]')?.innerText ?? '').replace(/\s+/g, ' ').trim();
    return `  ${name}: ${cell.dataset.state}${outputs ? ` — ${outputs.slice(0, 300)}` : ''}`;
  }).join('\n'));
}

// Waits until CELL's data-state is one of STATES.
export async function waitForState(page, cell, states, timeout, what = 'the cell') {
  const wanted = page.locator(states.map((state) => `[data-state="${state}"]`).join(', '));
  try {
    await cell.and(wanted).waitFor({ state: 'attached', timeout });
  } catch {
    const now = await cell.getAttribute('data-state', { timeout: 1000 }).catch(() => '(no such cell)');
    throw new Error(`${what} did not reach data-state ${states.join(' or ')} within ${timeout / 1000} s: ` +
      `it is ${now}. ${await noticeText(page)}\ncells:\n${await describeCells(page)}`);
  }
}

// Waits until every code cell has data-state ok or error.
export async function waitForAllDone(page, timeout) {
  try {
    await page.waitForFunction(() => {
      const cells = [...document.querySelectorAll('[data-testid=cell][data-type=code]')];
      return cells.length > 0 && cells.every((cell) => ['ok', 'error'].includes(cell.dataset.state));
    }, null, { timeout, polling: 250 });
  } catch {
    throw new Error(`not every code cell ended (data-state ok or error) within ${timeout / 1000} s. ` +
      `${await noticeText(page)}\ncells:\n${await describeCells(page)}`);
  }
}

export async function waitForKernel(page, state, timeout) {
  const status = page.getByTestId('kernel-status');
  try {
    await status.and(page.locator(`[data-state="${state}"]`)).waitFor({ state: 'attached', timeout });
  } catch {
    const now = await status.getAttribute('data-state', { timeout: 1000 }).catch(() => '(no kernel-status)');
    throw new Error(`the kernel status did not become ${state} within ${timeout / 1000} s: it is ${now}`);
  }
}

// Puts CELL's source in its editor and returns the editor's contenteditable: a click on the
// source, and Enter when the click only selected the cell.
export async function editCell(page, cell) {
  const editor = cell.locator('[data-testid=cell-source] .cm-content');
  await cell.getByTestId('cell-source').click();
  if (!(await editor.isVisible())) {
    try {
      await editor.waitFor({ state: 'visible', timeout: 1500 });
    } catch {
      await page.keyboard.press('Enter');
    }
  }
  try {
    await editor.waitFor({ state: 'visible', timeout: 5000 });
  } catch {
    throw new Error('neither a click on the cell\'s source nor Enter opened its editor ' +
      '([data-testid=cell-source] .cm-content)');
  }
  return editor;
}

// Appends LINE as a new last line of CELL's source, then leaves the editor with Escape.
export async function appendLine(page, cell, line) {
  const editor = await editCell(page, cell);
  await editor.click();
  await page.keyboard.press('Control+End');
  await page.keyboard.press('Enter');
  await page.keyboard.type(line);
  await page.keyboard.press('Escape');
  const source = await cell.getByTestId('cell-source').innerText();
  assert.ok(source.includes(line), `the cell's source should hold the typed "${line}", it is:\n${source}`);
}

export async function waitForDirty(page, dirty, timeout = ACTION_TIMEOUT) {
  try {
    await page.getByTestId('dirty').waitFor({ state: dirty ? 'visible' : 'hidden', timeout });
  } catch {
    throw new Error(`the unsaved-changes marker (dirty) should be ${dirty ? 'shown' : 'gone'} within ` +
      `${timeout / 1000} s. ${await noticeText(page)}`);
  }
}

// ---- the server's REST API ---------------------------------------------------------------------

function contentsUrl(apiPath, query = '') {
  return `${BASE_URL}/api/contents/${apiPath.split('/').map(encodeURIComponent).join('/')}${query}`;
}

export async function api(method, apiPath, { query = '', body } = {}) {
  const response = await fetch(contentsUrl(apiPath, query), {
    method,
    headers: { Authorization: `token ${TOKEN}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: response.status, json, text };
}

// The text of the file at API_PATH, as it is on disk.
export async function readFile(apiPath) {
  const response = await api('GET', apiPath, { query: '?type=file&format=text&content=1' });
  assert.equal(response.status, 200, `GET /api/contents/${apiPath}: ${response.text}`);
  return response.json.content;
}

export async function writeFile(apiPath, text) {
  const response = await api('PUT', apiPath, { body: { type: 'file', format: 'text', content: text } });
  assert.ok([200, 201].includes(response.status), `PUT /api/contents/${apiPath}: ${response.status} ${response.text}`);
  return response.json;
}

export async function makeFolder(apiPath) {
  const response = await api('PUT', apiPath, { body: { type: 'directory' } });
  assert.ok([200, 201].includes(response.status), `PUT /api/contents/${apiPath}: ${response.status} ${response.text}`);
}

export async function exists(apiPath) {
  const response = await api('GET', apiPath, { query: '?content=0' });
  assert.ok([200, 404].includes(response.status), `GET /api/contents/${apiPath}: ${response.status} ${response.text}`);
  return response.status === 200;
}

// Polls CONDITION (async) every 100 ms until it is true or TIMEOUT ms passed; its last value.
export async function eventually(condition, timeout = ACTION_TIMEOUT) {
  const end = Date.now() + timeout;
  for (;;) {
    const value = await condition();
    if (value || Date.now() >= end) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
