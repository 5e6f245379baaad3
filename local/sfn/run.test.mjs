// Tests of run.mjs against small throwaway definitions and a fake function
// host (the role `cargo lambda watch` plays in the local stack).
// Run: node --test local/sfn/   (Node 20 and later; run.mjs gets the polyfill)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeHost } from './fake-host.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const RUN = join(HERE, 'run.mjs');
const POLYFILL = join(HERE, 'polyfill.cjs');

// ---------------------------------------------------------------- fake host

/** Every invocation the host received: {fn, input, at}. */
let calls = [];
/** How many more times `flaky` fails before it succeeds. */
let flakyFailures = 0;
let server;
let port;

const functions = {
  echo: (input) => [200, { ...input, echoed: true }],
  flaky: (input) =>
    flakyFailures-- > 0
      ? [500, { errorType: 'Retryable.RoleNotReady', errorMessage: 'role not assumable yet' }]
      : [200, { ...input, flaky: 'done' }],
  fatal: () => [500, { errorType: 'Fatal.Vendor', errorMessage: 'the vendor refused: 400' }],
  'make-summary': (input) => {
    const summary = { failed: 1, results: input.results ?? [] };
    return [200, { ...summary, cause: JSON.stringify(summary) }];
  },
};

before(async () => {
  ({ server, port } = await startFakeHost(functions, (call) => calls.push(call)));
});

after(() => server.close());

// ---------------------------------------------------------------- helpers

const dir = mkdtempSync(join(tmpdir(), 'vendorlink-sfn-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

function file(content) {
  const path = join(dir, `f${files++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** Runs run.mjs asynchronously (the fake host lives in this process). */
function run(definition, input, { env = {}, args = [] } = {}) {
  calls = [];
  const argv = ['--require', POLYFILL, RUN, ...args];
  if (definition !== null) argv.push('--definition', file(definition));
  if (input !== null) argv.push(file(input));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, {
      env: { PATH: process.env.PATH, FUNCTION_PORT: String(port), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Stdout must be exactly one JSON document (one line, newline-terminated). */
function onlyDocument({ stdout, stderr }) {
  assert.ok(stdout.endsWith('\n'), `stdout must end with a newline: ${JSON.stringify(stdout)}\n${stderr}`);
  assert.equal(stdout.trimEnd().split('\n').length, 1, `stdout must be one line: ${stdout}`);
  return JSON.parse(stdout);
}

const task = (name, extra = {}) => ({ Type: 'Task', Resource: `\${${name}FunctionArn}`, ...extra });

// ---------------------------------------------------------------- tests

test('fills ${XFunctionArn} with the function ARN of x, kebab-cased', async () => {
  const definition = {
    StartAt: 'A',
    States: {
      A: task('Echo', { Next: 'B' }),
      B: task('MakeSummary', { End: true }),
    },
  };
  const r = await run(definition, null, { args: ['--print-functions'] });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n').sort(), ['echo', 'make-summary']);

  const ok = await run(definition, { results: ['x'] });
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(calls.map((c) => c.fn), ['echo', 'make-summary']);
  assert.deepEqual(onlyDocument(ok), { failed: 1, results: ['x'], cause: JSON.stringify({ failed: 1, results: ['x'] }) });
});

test('succeeds with exit 0 and the output; error names reach Retry; waits and retries are shortened', async () => {
  const definition = {
    StartAt: 'First',
    States: {
      First: task('Echo', { Next: 'Pause' }),
      Pause: { Type: 'Wait', Seconds: 3600, Next: 'Flaky' },
      Flaky: task('Flaky', {
        Retry: [
          { ErrorEquals: ['Fatal.Vendor'], IntervalSeconds: 3600, MaxAttempts: 5 },
          { ErrorEquals: ['Retryable.RoleNotReady'], IntervalSeconds: 3600, MaxAttempts: 3, BackoffRate: 2 },
        ],
        End: true,
      }),
    },
  };
  flakyFailures = 2;
  const r = await run(definition, { n: 1 }, { env: { VENDORLINK_WAIT_SECONDS: '1' } });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(onlyDocument(r), { n: 1, echoed: true, flaky: 'done' });
  assert.deepEqual(calls.map((c) => c.fn), ['echo', 'flaky', 'flaky', 'flaky']);
  const gaps = calls.slice(1).map((c, i) => c.at - calls[i].at);
  for (const gap of gaps) {
    assert.ok(gap >= 900 && gap < 5000, `each wait and retry pause lasts ~1 s, got ${gaps}`);
  }
  assert.match(r.stderr, /Flaky: retry/);
});

test('VENDORLINK_WAIT_SECONDS=0 removes the waits', async () => {
  const definition = {
    StartAt: 'Pause',
    States: {
      Pause: { Type: 'Wait', SecondsPath: '$.wait', Next: 'Flaky' },
      Flaky: task('Flaky', {
        Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 3600, MaxAttempts: 2 }],
        End: true,
      }),
    },
  };
  flakyFailures = 1;
  const started = Date.now();
  const r = await run(definition, { wait: 3600 }, { env: { VENDORLINK_WAIT_SECONDS: '0' } });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Date.now() - started < 10000);
  assert.equal(onlyDocument(r).flaky, 'done');
});

test('error names and documents reach Catch; a Fail whose cause is the summary prints it as JSON, exit 1', async () => {
  const definition = {
    StartAt: 'Each',
    States: {
      Each: {
        Type: 'Map',
        ItemsPath: '$.items',
        ItemSelector: { 'vendor.$': '$$.Map.Item.Value', 'execution.$': '$$.Execution.Name' },
        ResultPath: '$.results',
        ItemProcessor: {
          StartAt: 'Route',
          States: {
            Route: {
              Type: 'Choice',
              Choices: [{ Variable: '$.vendor', StringEquals: 'bad', Next: 'Fatal' }],
              Default: 'Echo',
            },
            Echo: task('Echo', { End: true }),
            Fatal: task('Fatal', {
              Retry: [{ ErrorEquals: ['Retryable.RoleNotReady'], MaxAttempts: 5 }],
              Catch: [{ ErrorEquals: ['Fatal.Vendor'], ResultPath: '$.error', Next: 'Caught' }],
              End: true,
            }),
            Caught: {
              Type: 'Pass',
              Parameters: { 'vendor.$': '$.vendor', 'error.$': '$.error.Error', 'detail.$': '$.error.Cause' },
              End: true,
            },
          },
        },
        Next: 'Summary',
      },
      Summary: task('MakeSummary', { Next: 'AnyFailed' }),
      AnyFailed: {
        Type: 'Choice',
        Choices: [{ Variable: '$.failed', NumericGreaterThan: 0, Next: 'Failed' }],
        Default: 'Done',
      },
      Failed: { Type: 'Fail', Error: 'Vendorlink.VendorFailed', CausePath: '$.cause' },
      Done: { Type: 'Succeed' },
    },
  };
  const r = await run(definition, { items: ['good', 'bad'] }, { args: ['--name', 'test-exec-1'] });
  assert.equal(r.code, 1, r.stderr);
  const summary = onlyDocument(r);
  assert.equal(summary.failed, 1);
  assert.deepEqual(summary.results[0], { vendor: 'good', execution: 'test-exec-1', echoed: true });
  assert.deepEqual(summary.results[1], {
    vendor: 'bad',
    error: 'Fatal.Vendor',
    detail: JSON.stringify({ errorType: 'Fatal.Vendor', errorMessage: 'the vendor refused: 400' }),
  });
  // Caught at once: no retry of a Fatal error.
  assert.equal(calls.filter((c) => c.fn === 'fatal').length, 1);
});

test('an uncaught function error fails the execution: exit 1 with {error, cause}', async () => {
  const definition = {
    StartAt: 'Fatal',
    States: { Fatal: task('Fatal', { End: true }) },
  };
  const r = await run(definition, {});
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(onlyDocument(r), {
    error: 'Fatal.Vendor',
    cause: JSON.stringify({ errorType: 'Fatal.Vendor', errorMessage: 'the vendor refused: 400' }),
  });
});

test('each execution gets a unique name', async () => {
  const definition = {
    StartAt: 'Name',
    States: { Name: { Type: 'Pass', Parameters: { 'name.$': '$$.Execution.Name' }, End: true } },
  };
  const a = onlyDocument(await run(definition, {}));
  const b = onlyDocument(await run(definition, {}));
  assert.match(a.name, /^[A-Za-z0-9_-]{1,80}$/);
  assert.notEqual(a.name, b.name);
});

test('exit 2 when the run cannot happen, still with one JSON document', async (t) => {
  const simple = { StartAt: 'A', States: { A: task('Echo', { End: true }) } };
  const cases = {
    'function host down': [simple, {}, { env: { FUNCTION_PORT: '1' } }],
    'unknown function': [{ StartAt: 'A', States: { A: task('Nope', { End: true }) } }, {}, {}],
    'unfillable substitution': [{ StartAt: 'A', States: { A: { Type: 'Task', Resource: '${Bucket}', End: true } } }, {}, {}],
    'invalid definition': [{ StartAt: 'Missing', States: { A: { Type: 'Pass', End: true } } }, {}, {}],
    'definition not JSON': ['{ nope', {}, {}],
    'input not JSON': [simple, '{ nope', {}],
    'no FUNCTION_PORT': [simple, {}, { env: { FUNCTION_PORT: '' } }],
    'bad VENDORLINK_WAIT_SECONDS': [simple, {}, { env: { VENDORLINK_WAIT_SECONDS: 'soon' } }],
  };
  for (const [name, [definition, input, options]] of Object.entries(cases)) {
    await t.test(name, async () => {
      const r = await run(definition, input, options);
      assert.equal(r.code, 2, `${name}: ${r.stderr}`);
      const doc = onlyDocument(r);
      assert.equal(doc.error, 'Local.CouldNotRun');
      assert.equal(typeof doc.cause, 'string');
    });
  }
});
