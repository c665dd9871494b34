// The browser half of bench/ui_bench.py (its docstring says what is measured): drives one
// Debian Chromium, through playwright-core from tests/e2e/node_modules, against tejun server and
// the classic Jupyter Notebook, both already running.
//
// Reads its configuration as JSON on stdin:
//   {"chromium", "runs", "warmups", "cells", "profile_parent",
//    "tejun": {"base", "token"}, "notebook": {"base", "token"}}
// and writes its results as JSON on stdout (progress goes to stderr):
//   {"userAgent",
//    "pages": {SERVER: {"cold": OPEN, "assets": [{"url", "kind", "phase"}], "cookie"}},
//    "runs": {LABEL: [OPEN]}, "problems": {SERVER: {TEXT: COUNT}}}
// where OPEN is {"seen", "drawn", "mark" (tejun only)}.
// Times are milliseconds since the navigation started (performance.now(), performance marks).

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(new URL('../tests/e2e/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const TIMEOUT = 60_000; // ms for a page to open, an editor to appear
const QUIET = 1_000; // ms without a response after which a page is taken as done loading
const QUIET_LIMIT = 15_000; // ms to wait for that at most

const config = JSON.parse(fs.readFileSync(0, 'utf8'));
const servers = { tejun: config.tejun, notebook: config.notebook };
const problems = { tejun: {}, notebook: {} };

function progress(text) {
  process.stderr.write(`${text}\n`);
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

// ---- readiness: milliseconds since the navigation started --------------------------------

// Installed in every page before its own scripts: from the first animation frame on, checks in
// each frame whether the runbook is ready (tejun: [data-testid=runbook][data-ready=true]; the
// notebook: Jupyter.notebook._fully_loaded, which Notebook.load_notebook_success sets once every
// cell is built and rendered). `__benchSeen` is performance.now() in the first frame that sees it;
// `__benchDrawn` in the frame after, which runs once the first frame's style, layout and paint
// of the runbook are done. A watcher of the page's own is used rather than Playwright's poller,
// which is installed only after the navigation commits and can miss the first frames.
function frameWatcher() {
  const notebook = window.location.pathname.includes('/notebooks/');
  const ready = notebook ? () => Boolean(window.Jupyter?.notebook?._fully_loaded)
    : () => document.querySelector('[data-testid=runbook][data-ready=true]') !== null;
  const tick = () => {
    if (!ready()) {
      requestAnimationFrame(tick);
      return;
    }
    window.__benchSeen = performance.now();
    requestAnimationFrame(() => { window.__benchDrawn = performance.now(); });
  };
  requestAnimationFrame(tick);
}

// {seen, drawn, mark (tejun's performance mark "tejun:runbook-ready", else null), cells}.
async function ready(page) {
  await page.waitForFunction(() => window.__benchDrawn !== undefined, null, { polling: 'raf', timeout: TIMEOUT });
  return page.evaluate(() => ({
    seen: window.__benchSeen,
    drawn: window.__benchDrawn,
    mark: performance.getEntriesByName('tejun:runbook-ready')[0]?.startTime ?? null,
    cells: window.Jupyter?.notebook ? window.Jupyter.notebook.ncells()
      : document.querySelectorAll('[data-testid=runbook] [data-testid=cell]').length,
  }));
}

const targets = {
  'tejun .md': { server: 'tejun', url: `${servers.tejun.base}ui/#/open/bench-200.md` },
  'tejun .ipynb': { server: 'tejun', url: `${servers.tejun.base}ui/#/open/bench-200.ipynb` },
  'notebook .ipynb': { server: 'notebook', url: `${servers.notebook.base}notebooks/bench-200.ipynb` },
};

// ---- editing (what loads the lazy parts of each UI) ----------------------------------------

// tejun: a click on the first step's source (Enter if the click only selected it), Escape, then
// a double-click on the first prose cell.
async function editTejun(page) {
  const step = page.locator('[data-testid=cell][data-type=code]').first();
  const stepEditor = step.locator('[data-testid=cell-source] .cm-content');
  await step.getByTestId('cell-source').click();
  try {
    await stepEditor.waitFor({ state: 'visible', timeout: 2_000 });
  } catch {
    await page.keyboard.press('Enter');
    await stepEditor.waitFor({ state: 'visible', timeout: TIMEOUT });
  }
  await page.keyboard.press('Escape');
  const prose = page.locator('[data-testid=cell][data-type=markdown]').first();
  await prose.getByTestId('prose').dblclick();
  await prose.locator('[data-testid=cell-source] .cm-content').waitFor({ state: 'visible', timeout: TIMEOUT });
  await page.keyboard.press('Escape');
}

// The notebook: a click in the first code cell's editor (edit mode), Escape, then a double-click
// on the first Markdown cell, which shows its editor (unrendered; headless, it stays in command mode).
async function editNotebook(page) {
  const options = { timeout: TIMEOUT };
  await page.locator('.cell.code_cell .CodeMirror').first().click();
  await page.waitForFunction(() => window.Jupyter.notebook.mode === 'edit', null, options);
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => window.Jupyter.notebook.mode === 'command', null, options);
  await page.locator('.cell.text_cell .rendered_html').first().dblclick();
  await page.waitForFunction(() => {
    const cell = window.Jupyter.notebook.get_selected_cell();
    return cell.cell_type === 'markdown' && cell.rendered === false;
  }, null, options);
  await page.keyboard.press('Escape');
}

// ---- pages -----------------------------------------------------------------------------------

function count(server, text) {
  problems[server][text] = (problems[server][text] ?? 0) + 1;
}

// Counts PAGE's console errors, page errors and failed requests under SERVER, until it closes.
function watch(page, server) {
  const state = { closing: false };
  page.on('pageerror', (error) => state.closing || count(server, `page error: ${error.message}`));
  page.on('console', (message) => {
    if (!state.closing && message.type() === 'error') count(server, `console error: ${message.text()}`);
  });
  page.on('requestfailed', (request) => {
    if (!state.closing) {
      const where = request.url().replace(/token=[^&#]*/, 'token=…');
      count(server, `request failed: ${request.method()} ${where}: ${request.failure()?.errorText}`);
    }
  });
  return state;
}

// Records every response of PAGE: its kind (js, css, html, other) and the phase it came in.
function record(page) {
  const state = { phase: 'open', last: Date.now(), assets: new Map() };
  page.on('response', (response) => {
    state.last = Date.now();
    const url = response.url();
    if (!url.startsWith('http') || state.assets.has(url) || response.status() !== 200) return;
    const type = response.request().resourceType();
    const contentType = response.headers()['content-type'] ?? '';
    let kind = 'other';
    if (type === 'script' || /javascript/.test(contentType)) kind = 'js';
    else if (type === 'stylesheet' || /text\/css/.test(contentType)) kind = 'css';
    else if (type === 'document') kind = 'html';
    state.assets.set(url, { url, kind, phase: state.phase });
  });
  return state;
}

async function quiet(recording) {
  const end = Date.now() + QUIET_LIMIT;
  while (Date.now() - recording.last < QUIET && Date.now() < end) await sleep(100);
}

// Opens LABEL's runbook in a new page: {page, result, watching}; fails unless it shows every cell.
async function open(context, label, before = () => {}) {
  const target = targets[label];
  const page = await context.newPage();
  const watching = watch(page, target.server);
  before(page);
  await page.goto(target.url, { waitUntil: 'commit', timeout: TIMEOUT });
  const result = await ready(page);
  if (result.cells !== config.cells) {
    throw new Error(`${label}: the page shows ${result.cells} cells, not ${config.cells}`);
  }
  if (target.server === 'tejun' && typeof result.mark !== 'number') {
    throw new Error(`${label}: no performance mark tejun:runbook-ready`);
  }
  if (target.server !== 'tejun') delete result.mark;
  delete result.cells;
  return { page, result, watching };
}

async function close(opened) {
  opened.watching.closing = true;
  await opened.page.close();
}

// Signs in to SERVER once: GET {base}?token=… (and its redirects: tejun's sets the cookies, the
// notebook's redirects to /tree?token=…, which does) from the context's request API, which stores
// the cookies but is not the browser's network stack: no page is loaded, nothing is cached.
async function signIn(context, server) {
  const { base, token } = servers[server];
  const response = await context.request.get(`${base}?token=${encodeURIComponent(token)}`);
  if (!response.ok()) throw new Error(`${server}: GET ${base}?token=… answered ${response.status()}`);
  if ((await context.cookies(base)).length === 0) throw new Error(`${server}: signing in set no cookie`);
}

async function cookieHeader(context, server) {
  return (await context.cookies(servers[server].base)).map((c) => `${c.name}=${c.value}`).join('; ');
}

// ---- the run -----------------------------------------------------------------------------------

async function main() {
  const profile = fs.mkdtempSync(path.join(config.profile_parent, 'chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: config.chromium,
      headless: true,
      viewport: { width: 1280, height: 800 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    context.setDefaultTimeout(TIMEOUT);
    await context.addInitScript(frameWatcher);
    const blank = context.pages()[0] ?? await context.newPage();
    const userAgent = await blank.evaluate(() => navigator.userAgent);
    for (const server of Object.keys(servers)) await signIn(context, server);

    // The first page of each server: the cold open, and every asset loaded to open and edit.
    const pages = {};
    for (const [server, label, edit] of [['tejun', 'tejun .md', editTejun],
      ['notebook', 'notebook .ipynb', editNotebook]]) {
      progress(`${label}: cold open, open + edit ...`);
      let recording;
      const opened = await open(context, label, (page) => { recording = record(page); });
      await quiet(recording);
      recording.phase = 'edit';
      await edit(opened.page);
      await quiet(recording);
      await close(opened);
      pages[server] = { cold: opened.result, assets: [...recording.assets.values()],
        cookie: await cookieHeader(context, server) };
    }

    // Warm opens, in turn.
    const order = ['tejun .md', 'notebook .ipynb', 'tejun .ipynb'];
    const runs = Object.fromEntries(order.map((label) => [label, []]));
    for (let round = 0; round < config.warmups + config.runs; round += 1) {
      for (const label of order) {
        const opened = await open(context, label);
        await close(opened);
        if (round >= config.warmups) runs[label].push(opened.result);
      }
      const shown = order.map((label) => `${label} ${lastTime(runs[label])}`).join(', ');
      progress(`round ${round + 1}/${config.warmups + config.runs}${round < config.warmups ? ' (warm-up)' : ''}` +
        (round >= config.warmups ? `: ${shown}` : ''));
    }
    process.stdout.write(`${JSON.stringify({ userAgent, pages, runs, problems })}\n`);
  } finally {
    await context?.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

function lastTime(list) {
  const last = list.at(-1);
  return last ? `${(last.mark ?? last.seen).toFixed(0)} ms` : '-';
}

main().catch((error) => {
  process.stderr.write(`ui_bench.mjs: ${error.stack ?? error}\n`);
  process.exit(1);
});
