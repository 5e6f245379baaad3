// Tests of server.mjs (the local Step Functions endpoint) against a small
// throwaway definition and a fake function host (the role `cargo lambda watch`
// plays in the local stack), speaking the AWS JSON 1.0 protocol as the SDKs do.
// Run: node --test local/sfn/   (Node 20 and later; server.mjs gets the polyfill)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startFakeHost } from './fake-host.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const SERVER = join(HERE, 'server.mjs');
const POLYFILL = join(HERE, 'polyfill.cjs');
const JSON_1_0 = 'application/x-amz-json-1.0';

// ---------------------------------------------------------------- fake host

/** Every invocation the host received: {fn, input, at}. */
const calls = [];
/** key -> how many more times `flaky` fails for that key before it succeeds. */
const flakyFailures = new Map();
let host;
let hostPort;

const functions = {
  echo: (input) => [200, { ...input, echoed: true }],
  flaky: (input) => {
    const left = flakyFailures.get(input.key) ?? 0;
    flakyFailures.set(input.key, left - 1);
    return left > 0
      ? [500, { errorType: 'Retryable.RoleNotReady', errorMessage: 'role not assumable yet' }]
      : [200, { ...input, flaky: 'done' }];
  },
  fatal: () => [500, { errorType: 'Fatal.Vendor', errorMessage: 'the vendor refused: 400' }],
};

async function startHost() {
  ({ server: host, port: hostPort } = await startFakeHost(functions, (call) => calls.push(call)));
}

// ---------------------------------------------------------------- helpers

const dir = mkdtempSync(join(tmpdir(), 'vendorlink-sfn-server-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

function file(content) {
  const path = join(dir, `f${files++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}

const task = (name, extra = {}) => ({ Type: 'Task', Resource: `\${${name}FunctionArn}`, ...extra });

/** One definition for every test: `$.mode` picks the path. */
function router(extra = {}) {
  const modes = ['fatal', 'flaky', 'wait', 'fail', 'context', 'nope'];
  const next = { fatal: 'Fatal', flaky: 'Flaky', wait: 'Pause', fail: 'Failed', context: 'Context', nope: 'Nope' };
  return {
    StartAt: 'Route',
    ...extra,
    States: {
      Route: {
        Type: 'Choice',
        Choices: modes.map((mode) => ({ Variable: '$.mode', StringEquals: mode, Next: next[mode] })),
        Default: 'Echo',
      },
      Echo: task('Echo', { End: true }),
      Fatal: task('Fatal', { End: true }),
      Flaky: task('Flaky', {
        Retry: [{ ErrorEquals: ['Retryable.RoleNotReady'], IntervalSeconds: 3600, MaxAttempts: 3 }],
        End: true,
      }),
      Pause: { Type: 'Wait', SecondsPath: '$.seconds', Next: 'Echo' },
      Failed: { Type: 'Fail', Error: 'Vendorlink.VendorFailed', CausePath: '$.cause' },
      Context: {
        Type: 'Pass',
        Parameters: {
          'id.$': '$$.Execution.Id',
          'name.$': '$$.Execution.Name',
          'input.$': '$$.Execution.Input',
          'startTime.$': '$$.Execution.StartTime',
          'roleArn.$': '$$.Execution.RoleArn',
          'stateMachine.$': '$$.StateMachine.Id',
        },
        End: true,
      },
      Nope: task('Nope', { End: true }),
    },
  };
}

/**
 * Spawns server.mjs and waits for its ready file; resolves {port, arn, child,
 * stderr(), exited, definitionPath, readyFile}, or {code, stderr()} when it exits first.
 */
async function startServer({ definition = router(), env = {}, args = [] } = {}) {
  const readyFile = join(dir, `ready-${files++}.json`);
  const definitionPath = file(definition);
  const child = spawn(
    process.execPath,
    ['--require', POLYFILL, SERVER, '--definition', definitionPath, '--ready-file', readyFile, ...args],
    {
      env: { PATH: process.env.PATH, FUNCTION_PORT: String(hostPort), ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let code = null;
  exited.then((r) => (code = r.code));
  const deadline = Date.now() + 10000;
  while (!existsSync(readyFile)) {
    if (code !== null) return { code, stderr: () => stderr };
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server.mjs did not get ready in 10 s:\n${stderr}`);
    }
    await sleep(20);
  }
  const { port, stateMachineArn } = JSON.parse(readFileSync(readyFile, 'utf8'));
  return { port, arn: stateMachineArn, child, exited, stderr: () => stderr, definitionPath, readyFile };
}

async function stopServer(server) {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return server.exited;
  server.child.kill('SIGTERM');
  return server.exited;
}

/** One request as the AWS SDKs send it; `raw` replaces the JSON body, `target: null` drops the header. */
async function call(server, operation, body = {}, { raw, target = `AWSStepFunctions.${operation}` } = {}) {
  const headers = { 'content-type': JSON_1_0, authorization: 'AWS4-HMAC-SHA256 Credential=test/...' };
  if (target !== null) headers['x-amz-target'] = target;
  const res = await fetch(`http://127.0.0.1:${server.port}/`, {
    method: 'POST',
    headers,
    body: raw ?? JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    errorType: res.headers.get('x-amzn-errortype'),
    body: JSON.parse(text),
  };
}

/** The answer of a call that must succeed. */
async function ok(server, operation, body) {
  const r = await call(server, operation, body);
  assert.equal(r.status, 200, `${operation}: ${JSON.stringify(r.body)}`);
  assert.equal(r.contentType, JSON_1_0);
  return r.body;
}

function assertError(r, code, messagePattern) {
  assert.equal(r.status, 400, JSON.stringify(r.body));
  assert.equal(r.body.__type, code);
  assert.equal(r.errorType, code);
  assert.equal(r.contentType, JSON_1_0);
  assert.equal(typeof r.body.message, 'string');
  if (messagePattern) assert.match(r.body.message, messagePattern);
}

function start(server, name, input) {
  const body = { stateMachineArn: server.arn, input: JSON.stringify(input) };
  if (name !== undefined) body.name = name;
  return ok(server, 'StartExecution', body);
}

/** DescribeExecution until it is no longer RUNNING. */
async function finished(server, executionArn) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const d = await ok(server, 'DescribeExecution', { executionArn });
    if (d.status !== 'RUNNING') return d;
    if (Date.now() > deadline) throw new Error(`${executionArn} still RUNNING after 10 s`);
    await sleep(25);
  }
}

async function summary(server) {
  const res = await fetch(`http://127.0.0.1:${server.port}/_local/executions`);
  assert.equal(res.status, 200);
  return res.json();
}

// ---------------------------------------------------------------- servers

let main;
// One hook: the fake host must listen before the server is given its port.
before(async () => {
  await startHost();
  // Retry pauses of 0 s; Wait states last what the input says.
  main = await startServer({ env: { VENDORLINK_RETRY_SECONDS: '0' } });
  assert.ok(main.port, `main server did not start: ${main.stderr()}`);
});
after(async () => {
  if (main?.child) await stopServer(main);
  host?.close();
});

// ---------------------------------------------------------------- tests

test('StartExecution runs in the background; DescribeExecution shows it SUCCEEDED with its output', async () => {
  const before = Date.now() / 1000;
  const started = await start(main, 'ok-1', { mode: 'echo', vendor: 'datadog' });
  assert.equal(started.executionArn, 'arn:aws:states:us-east-1:000000000000:execution:vendorlink:ok-1');
  assert.equal(typeof started.startDate, 'number');
  assert.ok(started.startDate >= before - 1 && started.startDate <= Date.now() / 1000 + 1, `${started.startDate}`);

  const d = await finished(main, started.executionArn);
  assert.equal(d.status, 'SUCCEEDED');
  assert.equal(d.executionArn, started.executionArn);
  assert.equal(d.stateMachineArn, main.arn);
  assert.equal(d.name, 'ok-1');
  assert.equal(d.startDate, started.startDate);
  assert.ok(d.stopDate >= d.startDate);
  assert.equal(d.input, JSON.stringify({ mode: 'echo', vendor: 'datadog' }));
  assert.deepEqual(JSON.parse(d.output), { mode: 'echo', vendor: 'datadog', echoed: true });
  assert.equal(d.error, undefined);
  assert.equal(d.cause, undefined);
});

test('the execution context: ARNs, name, input, start time, role', async () => {
  const started = await start(main, undefined, { mode: 'context' });
  const name = started.executionArn.split(':').at(-1);
  assert.match(name, /^[A-Za-z0-9_-]{1,80}$/, 'a generated name is valid');
  const d = await finished(main, started.executionArn);
  assert.equal(d.status, 'SUCCEEDED');
  const output = JSON.parse(d.output);
  assert.deepEqual(
    { ...output, startTime: undefined },
    {
      id: started.executionArn,
      name,
      input: { mode: 'context' },
      startTime: undefined,
      roleArn: 'arn:aws:iam::000000000000:role/vendorlink-local',
      stateMachine: main.arn,
    },
  );
  assert.ok(Math.abs(Date.parse(output.startTime) / 1000 - started.startDate) < 2, output.startTime);
});

test('a failing execution is FAILED with the error name and the cause as text', async () => {
  const fatal = await finished(main, (await start(main, 'fails-fatal', { mode: 'fatal' })).executionArn);
  assert.equal(fatal.status, 'FAILED');
  assert.equal(fatal.error, 'Fatal.Vendor');
  assert.equal(fatal.cause, JSON.stringify({ errorType: 'Fatal.Vendor', errorMessage: 'the vendor refused: 400' }));
  assert.equal(fatal.output, undefined);
  assert.ok(fatal.stopDate >= fatal.startDate);

  // A Fail state whose cause is JSON (vendorlink's summary) is reported as that text, not parsed.
  const cause = JSON.stringify({ failed: 1, results: [] });
  const failed = await finished(main, (await start(main, 'fails-state', { mode: 'fail', cause })).executionArn);
  assert.equal(failed.status, 'FAILED');
  assert.equal(failed.error, 'Vendorlink.VendorFailed');
  assert.equal(failed.cause, cause);
});

test('a Retryable error is retried (with VENDORLINK_RETRY_SECONDS=0, at once) and the retries are logged', async () => {
  flakyFailures.set('retry-1', 2);
  const t0 = Date.now();
  const started = await start(main, 'retry-1', { mode: 'flaky', key: 'retry-1' });
  const d = await finished(main, started.executionArn);
  assert.equal(d.status, 'SUCCEEDED', JSON.stringify(d));
  assert.deepEqual(JSON.parse(d.output), { mode: 'flaky', key: 'retry-1', flaky: 'done' });
  assert.equal(calls.filter((c) => c.fn === 'flaky' && c.input.key === 'retry-1').length, 3);
  assert.ok(Date.now() - t0 < 5000, 'the definition says 3600 s between attempts');
  assert.match(main.stderr(), /retry-1: Flaky: retry 1 of 3 \(Retryable\.RoleNotReady\)/);
  assert.match(main.stderr(), /retry-1: Flaky: retry 2 of 3/);
  assert.match(main.stderr(), /retry-1: SUCCEEDED after/);
  assert.doesNotMatch(main.stderr(), /: ok \(/, 'no line per successful call unless VENDORLINK_SFN_VERBOSE=1');
});

test('a taken name: the same RUNNING execution for the same input, else ExecutionAlreadyExists', async () => {
  const input = { mode: 'wait', seconds: 3600 };
  const first = await start(main, 'dup-1', input);
  const again = await start(main, 'dup-1', input);
  assert.deepEqual(again, first);

  assertError(await call(main, 'StartExecution', {
    stateMachineArn: main.arn,
    name: 'dup-1',
    input: JSON.stringify({ ...input, seconds: 1 }),
  }), 'ExecutionAlreadyExists', /dup-1/);
  await ok(main, 'StopExecution', { executionArn: first.executionArn });

  // Once it has finished, the name stays taken whatever the input.
  const done = await start(main, 'dup-2', { mode: 'echo' });
  assert.equal((await finished(main, done.executionArn)).status, 'SUCCEEDED');
  const r = await call(main, 'StartExecution', {
    stateMachineArn: main.arn,
    name: 'dup-2',
    input: JSON.stringify({ mode: 'echo' }),
  });
  assertError(r, 'ExecutionAlreadyExists', /execution:vendorlink:dup-2/);
});

test('StopExecution aborts a running execution', async () => {
  const started = await start(main, 'stop-1', { mode: 'wait', seconds: 3600 });
  const t0 = Date.now() / 1000;
  const stopped = await ok(main, 'StopExecution', { executionArn: started.executionArn, error: 'Ops', cause: 'test' });
  assert.ok(stopped.stopDate >= t0 - 1 && stopped.stopDate <= Date.now() / 1000 + 1);

  const d = await ok(main, 'DescribeExecution', { executionArn: started.executionArn });
  assert.equal(d.status, 'ABORTED');
  assert.equal(d.stopDate, stopped.stopDate);
  assert.equal(d.output, undefined);
  // Stopping a closed execution changes nothing.
  assert.deepEqual(await ok(main, 'StopExecution', { executionArn: started.executionArn }), stopped);
  await sleep(100);
  assert.equal((await ok(main, 'DescribeExecution', { executionArn: started.executionArn })).status, 'ABORTED');
  assert.equal(calls.filter((c) => c.input.mode === 'wait').length, 0, 'the state after the Wait never ran');
  assert.match(main.stderr(), /stop-1: ABORTED after [\d.]+ s: Ops: test/);

  assertError(
    await call(main, 'StopExecution', { executionArn: `${started.executionArn}-unknown` }),
    'ExecutionDoesNotExist',
  );
});

test('ListExecutions: newest first, a status filter, pages with an opaque token', async () => {
  const names = ['list-0', 'list-1', 'list-2', 'list-3', 'list-4'];
  const arns = [];
  for (const name of names) arns.push((await start(main, name, { mode: 'echo' })).executionArn);
  const running = await start(main, 'list-running', { mode: 'wait', seconds: 3600 });
  for (const arn of arns) assert.equal((await finished(main, arn)).status, 'SUCCEEDED');

  const pages = [];
  let nextToken;
  do {
    const body = { stateMachineArn: main.arn, statusFilter: 'SUCCEEDED', maxResults: 2 };
    if (nextToken) body.nextToken = nextToken;
    const page = await ok(main, 'ListExecutions', body);
    pages.push(page);
    nextToken = page.nextToken;
    assert.ok(page.executions.length <= 2);
    assert.ok(pages.length < 100);
  } while (nextToken);
  const all = pages.flatMap((p) => p.executions);
  assert.ok(all.every((e) => e.status === 'SUCCEEDED'));
  assert.deepEqual(
    all.map((e) => e.name).filter((n) => n.startsWith('list-')),
    [...names].reverse(),
  );
  const item = all.find((e) => e.name === 'list-2');
  assert.equal(item.executionArn, arns[2]);
  assert.equal(item.stateMachineArn, main.arn);
  assert.equal(typeof item.startDate, 'number');
  assert.ok(item.stopDate >= item.startDate);
  // Pages follow each other without overlap, newest first.
  const starts = all.map((e) => e.startDate);
  assert.deepEqual(starts, [...starts].sort((a, b) => b - a));
  assert.equal(new Set(all.map((e) => e.executionArn)).size, all.length);

  const runningList = await ok(main, 'ListExecutions', { stateMachineArn: main.arn, statusFilter: 'RUNNING' });
  assert.ok(runningList.executions.every((e) => e.status === 'RUNNING' && e.stopDate === undefined));
  assert.deepEqual(
    runningList.executions.filter((e) => e.name.startsWith('list-')).map((e) => e.executionArn),
    [running.executionArn],
  );
  assert.equal(runningList.nextToken, undefined);

  const everything = await ok(main, 'ListExecutions', { stateMachineArn: main.arn });
  assert.equal(everything.executions[0].name, 'list-running', 'newest first');

  assertError(await call(main, 'ListExecutions', { stateMachineArn: main.arn, nextToken: 'garbage' }), 'InvalidToken');
  for (const wrong of [{ maxResults: 1001 }, { maxResults: -1 }, { maxResults: 1.5 }, { statusFilter: 'DONE' }]) {
    assertError(await call(main, 'ListExecutions', { stateMachineArn: main.arn, ...wrong }), 'ValidationException');
  }
  await ok(main, 'StopExecution', { executionArn: running.executionArn });
});

test('DescribeStateMachine answers the definition file', async () => {
  const d = await ok(main, 'DescribeStateMachine', { stateMachineArn: main.arn });
  assert.equal(d.stateMachineArn, 'arn:aws:states:us-east-1:000000000000:stateMachine:vendorlink');
  assert.equal(d.name, 'vendorlink');
  assert.equal(d.status, 'ACTIVE');
  assert.equal(d.type, 'STANDARD');
  assert.equal(d.roleArn, 'arn:aws:iam::000000000000:role/vendorlink-local');
  assert.equal(d.definition, readFileSync(main.definitionPath, 'utf8'));
  assert.equal(typeof d.creationDate, 'number');
});

test('protocol errors: unknown executions and state machines, names, input, operations, bodies', async () => {
  const unknown = main.arn.replace(':stateMachine:', ':execution:') + ':never-started';
  const r = await call(main, 'DescribeExecution', { executionArn: unknown });
  assertError(r, 'ExecutionDoesNotExist', /never-started/);
  assertError(await call(main, 'DescribeExecution', { executionArn: 'not-an-arn' }), 'InvalidArn');

  const other = 'arn:aws:states:us-east-1:000000000000:stateMachine:other';
  assertError(await call(main, 'StartExecution', { stateMachineArn: other, name: 'x' }), 'StateMachineDoesNotExist');
  assertError(await call(main, 'ListExecutions', { stateMachineArn: other }), 'StateMachineDoesNotExist');
  assertError(await call(main, 'DescribeStateMachine', { stateMachineArn: other }), 'StateMachineDoesNotExist');

  for (const name of ['', 'has space', 'a/b', 'x'.repeat(81), 'ünïcode']) {
    assertError(await call(main, 'StartExecution', { stateMachineArn: main.arn, name }), 'InvalidName');
  }
  assertError(
    await call(main, 'StartExecution', { stateMachineArn: main.arn, name: 'bad-input', input: '{ nope' }),
    'InvalidExecutionInput',
  );
  // The name was not taken by the refused start.
  assert.ok((await start(main, 'bad-input', { mode: 'echo' })).executionArn.endsWith(':bad-input'));

  assertError(await call(main, 'CreateStateMachine', {}), 'UnknownOperationException', /CreateStateMachine/);
  assertError(await call(main, 'StartExecution', {}, { target: 'AmazonSQS.SendMessage' }), 'UnknownOperationException');
  assertError(await call(main, 'StartExecution', {}, { target: null }), 'UnknownOperationException');
  assertError(await call(main, 'StartExecution', {}, { raw: '{"stateMachineArn": ' }), 'SerializationException');
  assertError(await call(main, 'StartExecution', {}, { raw: '[1]' }), 'SerializationException');
  assertError(await call(main, 'StartExecution', { stateMachineArn: 7 }), 'SerializationException', /stateMachineArn/);
  assertError(await call(main, 'StartExecution', { name: 'x' }), 'ValidationException', /'stateMachineArn'/);
  assertError(await call(main, 'DescribeExecution', {}), 'ValidationException', /'executionArn'/);

  const res = await fetch(`http://127.0.0.1:${main.port}/elsewhere`);
  assert.equal(res.status, 404);
  assert.equal((await res.json()).__type, 'UnknownOperationException');
});

test('a function the host does not know fails that execution with Local.CouldNotRun', async () => {
  const d = await finished(main, (await start(main, 'nope-1', { mode: 'nope' })).executionArn);
  assert.equal(d.status, 'FAILED');
  assert.equal(d.error, 'Local.CouldNotRun');
  assert.match(d.cause, /function host answered 404 invoking nope/);
});

test('listens on 127.0.0.1 only', async () => {
  const reach = (address) =>
    new Promise((resolve) => {
      const socket = connect({ host: address, port: main.port });
      socket.on('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.on('error', (e) => resolve(e.code));
    });
  assert.equal(await reach('127.0.0.1'), 'connected');
  // The whole of 127/8 reaches the loopback interface: a server bound to 0.0.0.0 would answer here.
  assert.equal(await reach('127.0.0.2'), 'ECONNREFUSED');
  assert.notEqual(await reach('::1'), 'connected');
});

test('function host down: FAILED with Local.CouldNotRun, the server keeps serving; counts; SIGTERM', async () => {
  const down = await startServer({ definition: router({ TimeoutSeconds: 2 }), env: { FUNCTION_PORT: '1' } });
  assert.ok(down.port, `server did not start: ${down.stderr()}`);
  try {
    const a = await start(down, 'down-1', { mode: 'echo' });
    const b = await start(down, 'down-2', { mode: 'echo' });
    for (const arn of [a.executionArn, b.executionArn]) {
      const d = await finished(down, arn);
      assert.equal(d.status, 'FAILED');
      assert.equal(d.error, 'Local.CouldNotRun');
      assert.match(d.cause, /function host http:\/\/127\.0\.0\.1:1 unreachable invoking echo/);
    }
    assert.match(down.stderr(), /down-1: FAILED after [\d.]+ s: Local\.CouldNotRun \(function host/);

    // Still serving: an execution that calls no function succeeds.
    const passed = await start(down, 'down-3', { mode: 'context' });
    assert.equal((await finished(down, passed.executionArn)).status, 'SUCCEEDED');
    const failed = await start(down, 'down-4', { mode: 'fail', cause: 'no' });
    assert.equal((await finished(down, failed.executionArn)).status, 'FAILED');
    const stopped = await start(down, 'down-5', { mode: 'wait', seconds: 3600 });
    await ok(down, 'StopExecution', { executionArn: stopped.executionArn });
    // TimeoutSeconds: 2 ends this one.
    const late = await start(down, 'down-6', { mode: 'wait', seconds: 3600 });
    assert.deepEqual(await summary(down), {
      total: 6, running: 1, succeeded: 1, failed: 3, timedOut: 0, aborted: 1,
    });
    const d = await finished(down, late.executionArn);
    assert.equal(d.status, 'TIMED_OUT');
    assert.ok(d.stopDate - d.startDate >= 1.9, `${d.stopDate - d.startDate}`);
    assert.deepEqual(await summary(down), {
      total: 6, running: 0, succeeded: 1, failed: 3, timedOut: 1, aborted: 1,
    });

    // SIGTERM: prompt exit 0, running executions aborted, the ready file gone.
    await start(down, 'down-7', { mode: 'wait', seconds: 3600 });
    const t0 = Date.now();
    const { code } = await stopServer(down);
    assert.equal(code, 0, down.stderr());
    assert.ok(Date.now() - t0 < 3000);
    assert.equal(existsSync(down.readyFile), false);
    assert.match(down.stderr(), /SIGTERM: stopping/);
  } finally {
    await stopServer(down);
  }
});

test('exit 2 when the server cannot start', async (t) => {
  const cases = {
    'no FUNCTION_PORT': { env: { FUNCTION_PORT: '' } },
    'bad VENDORLINK_RETRY_SECONDS': { env: { VENDORLINK_RETRY_SECONDS: 'soon' } },
    'invalid definition': { definition: { StartAt: 'Missing', States: { A: { Type: 'Pass', End: true } } } },
    'definition not JSON': { definition: '{ nope' },
    'bad --port': { args: ['--port', 'http'] },
    'bad --name': { args: ['--name', 'a:b'] },
  };
  const results = await Promise.all(Object.values(cases).map((options) => startServer(options)));
  for (const [i, name] of Object.keys(cases).entries()) {
    await t.test(name, () => {
      const r = results[i];
      if (r.child) r.child.kill('SIGKILL');
      assert.equal(r.code, 2, `${name}: ${r.stderr()}`);
      assert.match(r.stderr(), /server\.mjs: could not start: /);
    });
  }
});

test('--also: a Map of startExecution.sync:2 starts children here and waits for them; taken names and failures are caught', async () => {
  const parent = {
    StartAt: 'Each',
    States: {
      Each: {
        Type: 'Map',
        ItemsPath: '$.items',
        MaxConcurrency: 2,
        ItemProcessor: {
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
          StartAt: 'Turn',
          States: {
            Turn: { Type: 'Wait', TimestampPath: '$.at', Next: 'Child' },
            Child: {
              Type: 'Task',
              Resource: 'arn:aws:states:::states:startExecution.sync:2',
              Parameters: { StateMachineArn: '${VendorlinkStateMachineArn}', 'Name.$': '$.name', 'Input.$': '$.input' },
              ResultSelector: { 'status.$': '$.Status', 'output.$': '$.Output' },
              Catch: [
                { ErrorEquals: ['StepFunctions.ExecutionAlreadyExistsException'], ResultPath: '$.error', Next: 'Taken' },
                { ErrorEquals: ['States.TaskFailed'], ResultPath: '$.error', Next: 'ChildFailed' },
              ],
              End: true,
            },
            Taken: { Type: 'Pass', Result: 'taken', End: true },
            ChildFailed: { Type: 'Pass', Result: 'failed', End: true },
          },
        },
        End: true,
      },
    },
  };
  // VENDORLINK_WAIT_SECONDS shortens Waits of a duration, never a Wait until a timestamp.
  const server = await startServer({
    env: { VENDORLINK_WAIT_SECONDS: '0' },
    args: ['--also', `backfill=${file(parent)}`],
  });
  try {
    const backfillArn = 'arn:aws:states:us-east-1:000000000000:stateMachine:backfill';
    const at = new Date(Date.now() + 1500).toISOString();
    const items = [
      { name: 'child-a', at, input: { mode: 'echo', n: 1 } },
      { name: 'child-a', at, input: { mode: 'echo', n: 2 } },
      { name: 'child-b', at, input: { mode: 'fatal' } },
    ];
    const t0 = Date.now();
    const started = await ok(server, 'StartExecution', {
      stateMachineArn: backfillArn,
      name: 'run-1',
      input: JSON.stringify({ items }),
    });
    const d = await finished(server, started.executionArn);
    assert.ok(Date.now() - t0 >= 1000, 'the Wait kept its timestamp');
    assert.equal(d.status, 'SUCCEEDED', server.stderr());
    const out = JSON.parse(d.output);
    // The two items of one name run at once: whichever starts first runs, the other is refused.
    const [first, second] = [out[0], out[1]];
    const winner = first === 'taken' ? second : first;
    assert.deepEqual([first, second].filter((r) => r === 'taken'), ['taken'], JSON.stringify(out));
    assert.equal(winner.status, 'SUCCEEDED');
    assert.deepEqual(winner.output, { mode: 'echo', n: winner.output.n, echoed: true });
    assert.ok([1, 2].includes(winner.output.n));
    assert.equal(out[2], 'failed');
    // The children are executions of the other state machine, listed there only.
    const children = await ok(server, 'ListExecutions', { stateMachineArn: server.arn });
    assert.deepEqual(children.executions.map((e) => e.name).sort(), ['child-a', 'child-b']);
    const parents = await ok(server, 'ListExecutions', { stateMachineArn: backfillArn });
    assert.deepEqual(parents.executions.map((e) => e.name), ['run-1']);
    const res = await fetch(`http://127.0.0.1:${server.port}/_local/executions?stateMachine=backfill`);
    assert.equal((await res.json()).succeeded, 1);
  } finally {
    await stopServer(server);
  }
});
