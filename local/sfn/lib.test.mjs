// Unit tests of lib.mjs: the timing knobs and the overrides they produce.
// Run: node --test local/sfn/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CouldNotRun,
  Limiter,
  buildOverrides,
  maxInFlight,
  retrySeconds,
  taskHandler,
  timingNote,
  waitSeconds,
} from './lib.mjs';

const machine = {
  tasks: new Map([['Flaky', 'flaky']]),
  waits: new Set(['Pause']),
  retries: new Set(['Flaky']),
};

test('VENDORLINK_RETRY_SECONDS: unset follows VENDORLINK_WAIT_SECONDS; a number; "definition"', () => {
  assert.equal(retrySeconds(undefined, {}), undefined);
  assert.equal(retrySeconds(2, {}), 2, 'unset: as VENDORLINK_WAIT_SECONDS, as before the knob');
  assert.equal(retrySeconds(2, { VENDORLINK_RETRY_SECONDS: '' }), 2);
  assert.equal(retrySeconds(2, { VENDORLINK_RETRY_SECONDS: '0' }), 0);
  assert.equal(retrySeconds(undefined, { VENDORLINK_RETRY_SECONDS: '1.5' }), 1.5);
  assert.equal(retrySeconds(0, { VENDORLINK_RETRY_SECONDS: 'definition' }), undefined);
  for (const bad of ['soon', '-1', 'Infinity', 'Definition']) {
    assert.throws(
      () => retrySeconds(0, { VENDORLINK_RETRY_SECONDS: bad }),
      (e) => e instanceof CouldNotRun && e.message.includes('VENDORLINK_RETRY_SECONDS') && e.message.includes(bad),
    );
  }
  assert.equal(waitSeconds({ VENDORLINK_WAIT_SECONDS: '3' }), 3);
  assert.throws(() => waitSeconds({ VENDORLINK_WAIT_SECONDS: 'x' }), CouldNotRun);
});

test('overrides: waits and retry pauses each only when set, in milliseconds', () => {
  const host = 'http://127.0.0.1:1';
  const both = buildOverrides(machine, { host, wait: 1, retry: 0 });
  assert.deepEqual(Object.keys(both.taskResourceLocalHandlers), ['Flaky']);
  assert.deepEqual(both.waitTimeOverrides, { Pause: 1000 });
  assert.deepEqual(both.retryIntervalOverrides, { Flaky: 0 });

  const keepRetries = buildOverrides(machine, { host, wait: 0, retry: undefined });
  assert.deepEqual(keepRetries.waitTimeOverrides, { Pause: 0 });
  assert.equal(keepRetries.retryIntervalOverrides, undefined);

  const keepWaits = buildOverrides(machine, { host, wait: undefined, retry: 2 });
  assert.equal(keepWaits.waitTimeOverrides, undefined);
  assert.deepEqual(keepWaits.retryIntervalOverrides, { Flaky: 2000 });

  assert.equal(timingNote(undefined, undefined), '');
  assert.equal(timingNote(0, undefined), ', waits 0s, retry pauses as defined');
});

test('a Task handler of an ended execution makes no call and does not report the host', async () => {
  const signal = AbortSignal.abort();
  let reported = null;
  const handler = taskHandler('http://127.0.0.1:1', 'Flaky', 'flaky', {
    infrastructure: (e) => (reported = e),
    log: () => {},
    signal,
  });
  await assert.rejects(handler({}), { name: 'Local.Stopped' });
  assert.equal(reported, null);
});

test('Limiter: at most `limit` holders, the rest served in order; an aborted waiter leaves the queue', async () => {
  const limiter = new Limiter(2);
  const order = [];
  const a = await limiter.acquire();
  const b = await limiter.acquire();
  const abort = new AbortController();
  const c = limiter.acquire().then((release) => {
    order.push('c');
    return release;
  });
  const d = limiter.acquire(abort.signal).then(
    () => order.push('d'),
    () => order.push('d aborted'),
  );
  const e = limiter.acquire().then((release) => {
    order.push('e');
    return release;
  });
  assert.equal(limiter.active, 2);
  abort.abort();
  await d;
  a();
  a(); // a second release of the same grant is ignored
  const releaseC = await c;
  assert.deepEqual(order, ['d aborted', 'c']);
  assert.equal(limiter.active, 2);
  b();
  (await e)();
  releaseC();
  assert.deepEqual(order, ['d aborted', 'c', 'e']);
  assert.equal(limiter.active, 0);
  assert.equal(limiter.waiting.length, 0);
});

test('VENDORLINK_SFN_MAX_IN_FLIGHT: 32 by default, a whole number of at least 1', () => {
  assert.equal(maxInFlight({}), 32);
  assert.equal(maxInFlight({ VENDORLINK_SFN_MAX_IN_FLIGHT: '5' }), 5);
  for (const bad of ['0', '-2', '1.5', 'many']) {
    assert.throws(() => maxInFlight({ VENDORLINK_SFN_MAX_IN_FLIGHT: bad }), CouldNotRun);
  }
});
