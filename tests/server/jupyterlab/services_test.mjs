// Drives a running `tejun server` with the real Jupyter client library, @jupyterlab/services, the
// way JupyterLab does: a session for a notebook with a `tejun` kernel, its channels WebSocket
// (kernel info, execute with iopub output, interrupt, restart), the contents of a notebook
// (save, get, rename, checkpoints, delete), and the session's shutdown.
//
// Run by test_jupyterlab.py as `node services_test.mjs` in this folder, with the server's base URL
// in TEJUN_SERVER_URL (http://127.0.0.1:PORT/) and its token in TEJUN_SERVER_TOKEN. Prints one
// line for each step that passed; on the first failure prints what failed and exits 1.

import assert from 'node:assert/strict';

import services from '@jupyterlab/services';

const { ContentsManager, KernelManager, KernelSpecManager, ServerConnection, SessionAPI, SessionManager } = services;

const STEP_DEADLINE = 30_000; // ms for any one step (the slowest, the interrupt, takes about 1 s)
const SLEEP_SECONDS = 20; // the long step that the interrupt cuts short

const baseUrl = process.env.TEJUN_SERVER_URL;
const token = process.env.TEJUN_SERVER_TOKEN;
if (!baseUrl || !token) {
  console.error('FAIL: set TEJUN_SERVER_URL and TEJUN_SERVER_TOKEN');
  process.exit(1);
}

const serverSettings = ServerConnection.makeSettings({ baseUrl, token, appendToken: true });

let current = 'setting up';

/** Runs STEP (an async function) as the step named WHAT, within STEP_DEADLINE, and prints it. */
async function step(what, body) {
  current = what;
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result within ${STEP_DEADLINE / 1000} s`)), STEP_DEADLINE);
  });
  try {
    const value = await Promise.race([body(), deadline]);
    console.log(`ok: ${what}`);
    return value;
  } finally {
    clearTimeout(timer);
  }
}

/** Executes CODE on KERNEL: {reply (the execute_reply message), iopub (every iopub message of it),
 * stdout (the text of its stdout stream messages)}. ONSTART is called once the request is sent. */
async function execute(kernel, code, onStart) {
  const future = kernel.requestExecute({ code, silent: false, store_history: true, allow_stdin: false,
                                         stop_on_error: true });
  const iopub = [];
  future.onIOPub = message => { iopub.push(message); };
  if (onStart) {
    await onStart(iopub);
  }
  const reply = await future.done;
  const stdout = iopub
    .filter(message => message.header.msg_type === 'stream' && message.content.name === 'stdout')
    .map(message => message.content.text).join('');
  return { reply, iopub, stdout };
}

function sleep(ms) {
  return new Promise(resolve => setTimeout(resolve, ms));
}

/** Waits until CONDITION() is true, for at most STEP_DEADLINE. */
async function until(condition, what) {
  const end = Date.now() + STEP_DEADLINE;
  while (!condition()) {
    if (Date.now() > end) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await sleep(20);
  }
}

/** A small notebook whose code cell is CODE. */
function notebook(code) {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'tejun', display_name: 'Runbook (tejun)', language: 'bash' },
      language_info: { name: 'bash' }
    },
    cells: [
      { id: 'intro', cell_type: 'markdown', metadata: {}, source: '# Restart the database\n\nÜnïcode — prose.' },
      { id: 'check', cell_type: 'code', metadata: {}, execution_count: 1, source: code,
        outputs: [{ output_type: 'stream', name: 'stdout', text: 'hello\n' }] }
    ]
  };
}

/** The status of the ServerConnection.ResponseError that PROMISE rejects with. */
async function rejectionStatus(promise) {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ServerConnection.ResponseError) {
      return error.response.status;
    }
    throw error;
  }
  throw new Error('the request succeeded');
}

async function main() {
  const kernelManager = new KernelManager({ serverSettings, standby: 'never' });
  const sessionManager = new SessionManager({ serverSettings, kernelManager, standby: 'never' });
  const contents = new ContentsManager({ serverSettings });
  const kernelSpecManager = new KernelSpecManager({ serverSettings, standby: 'never' });
  const sessionAPI = new SessionAPI.SessionAPIClient({ serverSettings });
  let session;
  try {
    await step('the kernelspecs list tejun, and the managers are ready', async () => {
      await kernelSpecManager.refreshSpecs();
      const specs = kernelSpecManager.specs;
      assert.ok(specs && specs.kernelspecs.tejun, `no tejun kernelspec: ${JSON.stringify(specs)}`);
      assert.equal(specs.kernelspecs.tejun.name, 'tejun');
      await kernelManager.ready;
      await sessionManager.ready;
    });

    await step('contents: create the folder runbooks (new untitled folder, renamed)', async () => {
      const folder = await contents.newUntitled({ path: '', type: 'directory' });
      assert.equal(folder.type, 'directory');
      const renamed = await contents.rename(folder.path, 'runbooks');
      assert.equal(renamed.path, 'runbooks');
    });

    session = await step('create a session for runbooks/restart.ipynb with a tejun kernel', async () => {
      const created = await sessionManager.startNew({
        path: 'runbooks/restart.ipynb', type: 'notebook', name: 'restart.ipynb', kernel: { name: 'tejun' }
      });
      assert.equal(created.path, 'runbooks/restart.ipynb');
      assert.equal(created.type, 'notebook');
      assert.ok(created.kernel, 'the session has no kernel');
      assert.equal(created.kernel.name, 'tejun');
      const listed = await sessionAPI.listRunning();
      assert.ok(listed.some(model => model.id === created.id && model.kernel.id === created.kernel.id),
                `the session is not in GET /api/sessions: ${JSON.stringify(listed)}`);
      return created;
    });
    const kernel = session.kernel;

    await step('the kernel channels WebSocket connects', async () => {
      await until(() => kernel.connectionStatus === 'connected', `connectionStatus connected (${kernel.connectionStatus})`);
      // The server chose the binary subprotocol the client offers (a private field: the
      // library does not expose the WebSocket).
      assert.equal(kernel._ws && kernel._ws.protocol, 'v1.kernel.websocket.jupyter.org');
    });

    await step('kernel_info_request', async () => {
      const reply = await kernel.requestKernelInfo();
      assert.ok(reply, 'no kernel_info_reply');
      assert.equal(reply.header.msg_type, 'kernel_info_reply');
      assert.equal(reply.content.status, 'ok');
      assert.match(reply.content.protocol_version, /^5\./);
      assert.ok(reply.content.language_info && reply.content.language_info.name, 'no language_info.name');
      const info = await kernel.info;
      assert.equal(info.status, 'ok');
    });

    await step('execute `echo hello`: stream output on iopub and an ok reply', async () => {
      const { reply, iopub, stdout } = await execute(kernel, 'echo hello');
      assert.equal(reply.header.msg_type, 'execute_reply');
      assert.equal(reply.content.status, 'ok', JSON.stringify(reply.content));
      assert.equal(stdout, 'hello\n', `stdout: ${JSON.stringify(iopub.map(m => [m.header.msg_type, m.content]))}`);
      const types = iopub.map(message => message.header.msg_type);
      assert.ok(types.includes('execute_input'), `no execute_input on iopub: ${types}`);
      const states = iopub.filter(m => m.header.msg_type === 'status').map(m => m.content.execution_state);
      assert.deepEqual(states, ['busy', 'idle'], `status messages: ${states}`);
      assert.equal(typeof reply.content.execution_count, 'number');
    });

    await step(`interrupt \`sleep ${SLEEP_SECONDS}\`: an error reply well before it ends`, async () => {
      const started = Date.now();
      const { reply } = await execute(kernel, `sleep ${SLEEP_SECONDS}`, async iopub => {
        await until(() => iopub.some(m => m.header.msg_type === 'execute_input'), 'the execute_input of the sleep');
        await sleep(500);
        await kernel.interrupt();
      });
      const seconds = (Date.now() - started) / 1000;
      assert.equal(reply.content.status, 'error', JSON.stringify(reply.content));
      assert.ok(seconds < SLEEP_SECONDS - 5, `the interrupted step took ${seconds} s`);
      const { stdout } = await execute(kernel, 'echo still here');
      assert.equal(stdout, 'still here\n');
    });

    await step('restart the kernel, then execute on the new one', async () => {
      const { reply } = await execute(kernel, 'export BEFORE_RESTART=yes');
      assert.equal(reply.content.status, 'ok');
      const kernelId = kernel.id;
      await kernel.restart();
      assert.equal(kernel.id, kernelId, 'a restart keeps the kernel id');
      await until(() => kernel.connectionStatus === 'connected', `connectionStatus connected (${kernel.connectionStatus})`);
      const after = await execute(kernel, 'echo "${BEFORE_RESTART:-a new session}"');
      assert.equal(after.reply.content.status, 'ok', JSON.stringify(after.reply.content));
      assert.equal(after.stdout, 'a new session\n');
    });

    await step('contents: save a notebook (type notebook)', async () => {
      const saved = await contents.save('runbooks/restart.ipynb',
                                        { type: 'notebook', format: 'json', content: notebook('echo hello') });
      assert.equal(saved.path, 'runbooks/restart.ipynb');
      assert.equal(saved.name, 'restart.ipynb');
      assert.equal(saved.type, 'notebook');
      assert.equal(saved.content, null, 'a save answers with the model without content');
    });

    await step('contents: get the notebook back', async () => {
      const model = await contents.get('runbooks/restart.ipynb', { type: 'notebook', content: true });
      assert.equal(model.type, 'notebook');
      assert.equal(model.format, 'json');
      assert.equal(model.mimetype, null);
      assert.equal(model.content.nbformat, 4);
      const cells = model.content.cells.map(cell => [cell.cell_type, cell.source]);
      assert.deepEqual(cells, [['markdown', '# Restart the database\n\nÜnïcode — prose.'], ['code', 'echo hello']]);
      assert.equal(model.content.metadata.kernelspec.name, 'tejun');
      assert.deepEqual(model.content.cells[1].outputs, [{ output_type: 'stream', name: 'stdout', text: 'hello\n' }]);
      const listing = await contents.get('runbooks');
      assert.deepEqual(listing.content.map(entry => entry.name), ['restart.ipynb']);
    });

    await step('contents: rename the notebook', async () => {
      const renamed = await contents.rename('runbooks/restart.ipynb', 'runbooks/restart-db.ipynb');
      assert.equal(renamed.path, 'runbooks/restart-db.ipynb');
      assert.equal(renamed.name, 'restart-db.ipynb');
      assert.equal(await rejectionStatus(contents.get('runbooks/restart.ipynb')), 404);
    });

    await step('contents: create, list and restore a checkpoint', async () => {
      const path = 'runbooks/restart-db.ipynb';
      const checkpoint = await contents.createCheckpoint(path);
      assert.equal(typeof checkpoint.id, 'string');
      assert.match(checkpoint.last_modified, /^\d{4}-\d{2}-\d{2}T/);
      const listed = await contents.listCheckpoints(path);
      assert.deepEqual(listed.map(c => c.id), [checkpoint.id]);
      await contents.save(path, { type: 'notebook', format: 'json', content: notebook('echo changed') });
      let model = await contents.get(path);
      assert.equal(model.content.cells[1].source, 'echo changed');
      await contents.restoreCheckpoint(path, checkpoint.id);
      model = await contents.get(path);
      assert.equal(model.content.cells[1].source, 'echo hello', 'restoreCheckpoint did not bring the notebook back');
      await contents.deleteCheckpoint(path, checkpoint.id);
      assert.deepEqual(await contents.listCheckpoints(path), []);
    });

    await step('contents: delete the notebook', async () => {
      await contents.delete('runbooks/restart-db.ipynb');
      assert.equal(await rejectionStatus(contents.get('runbooks/restart-db.ipynb')), 404);
      await contents.delete('runbooks');
    });

    await step('shut down the session: it and its kernel are gone', async () => {
      const { id } = session;
      const kernelId = kernel.id;
      await session.shutdown();
      session = undefined;
      assert.ok(!(await sessionAPI.listRunning()).some(model => model.id === id), 'the session is still listed');
      await kernelManager.refreshRunning();
      assert.ok(![...kernelManager.running()].some(model => model.id === kernelId), 'the kernel is still listed');
    });
  } finally {
    if (session) {
      await session.shutdown().catch(() => {});
    }
    sessionManager.dispose();
    kernelManager.dispose();
    contents.dispose();
    kernelSpecManager.dispose();
  }
}

try {
  await main();
  console.log('PASS: every step');
  process.exit(0);
} catch (error) {
  console.error(`FAIL at step "${current}":`);
  if (error instanceof ServerConnection.ResponseError) {
    console.error(`  ${error.response.status} from ${error.response.url}: ${error.message}`);
  }
  console.error(error && error.stack ? error.stack : error);
  process.exit(1);
}
