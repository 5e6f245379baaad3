// What run.mjs (one execution) and server.mjs (a local Step Functions API)
// share: loading vendorlink's ASL definition, the timing knobs, and the Task
// handler that calls the local function host (`cargo lambda watch`).
//
// Environment read here:
//   FUNCTION_PORT             loopback port of the function host
//   VENDORLINK_WAIT_SECONDS   when set, every Wait state lasts this many seconds
//                             (0 allowed), and so does every Retry pause unless
//                             VENDORLINK_RETRY_SECONDS says otherwise
//   VENDORLINK_RETRY_SECONDS  when set, every Retry pause lasts this many
//                             seconds (0 allowed); `definition` keeps the
//                             definition's own intervals even when
//                             VENDORLINK_WAIT_SECONDS is set

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StateMachine } from 'aws-local-stepfunctions';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_DEFINITION = resolve(ROOT, 'statemachine', 'vendorlink.asl.json');
export const REGION = 'us-east-1';
export const ACCOUNT = '000000000000';
export const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/vendorlink-local`;
/** Execution (and state machine) names: a subset of what AWS accepts, enough for vendorlink's names. */
export const NAME = /^[A-Za-z0-9_-]{1,80}$/;
const FUNCTION_ARN = /^arn:aws:lambda:[a-z0-9-]+:\d{12}:function:([A-Za-z0-9_-]+)$/;

/** An error that means the run could not happen (exit 2), as opposed to a failed execution. */
export class CouldNotRun extends Error {
  constructor(message) {
    super(message);
    this.name = 'Local.CouldNotRun';
  }
}

/** The local ARN of the state machine named `name`. */
export function stateMachineArnOf(name) {
  return `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${name}`;
}

/** The Step Functions integration a Task may use locally: start an execution and wait for it. */
export const START_EXECUTION_SYNC = /^arn:aws[a-z-]*:states:::states:startExecution\.sync(:2)?$/;

/** `ResolveAccount` -> `resolve-account`. */
export function kebab(name) {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

/**
 * Fills `${XFunctionArn}` placeholders in every string of the definition, as
 * SAM's DefinitionSubstitutions would. Any other placeholder is an error.
 */
export function fillSubstitutions(value, unfilled) {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z0-9_]+)\}/g, (whole, name) => {
      const m = /^([A-Za-z0-9]+)FunctionArn$/.exec(name);
      if (m) return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${kebab(m[1])}`;
      const sm = /^([A-Za-z0-9]+)StateMachineArn$/.exec(name);
      if (sm) return stateMachineArnOf(kebab(sm[1]));
      unfilled.add(whole);
      return whole;
    });
  }
  if (Array.isArray(value)) return value.map((v) => fillSubstitutions(v, unfilled));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillSubstitutions(v, unfilled)]));
  }
  return value;
}

/** Every `States` object of the definition: the top level, Map processors, Parallel branches. */
export function* stateMaps(machine) {
  yield machine.States;
  for (const state of Object.values(machine.States)) {
    for (const nested of [state.ItemProcessor, state.Iterator, ...(state.Branches ?? [])]) {
      if (nested && nested.States) yield* stateMaps(nested);
    }
  }
}

/**
 * Task state name -> function name, Wait state names, and names of states
 * with a Retry field. The library keys its overrides by state name, across
 * nested machines too, so one name must not mean two different functions.
 */
export function inspect(machine) {
  const tasks = new Map();
  const starts = new Set();
  const waits = new Set();
  const retries = new Set();
  for (const states of stateMaps(machine)) {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task' && START_EXECUTION_SYNC.test(state.Resource ?? '')) {
        starts.add(name);
      } else if (state.Type === 'Task') {
        const m = FUNCTION_ARN.exec(state.Resource ?? '');
        if (!m) {
          throw new CouldNotRun(
            `Task state "${name}" has Resource "${state.Resource}": only Lambda function ARNs are run locally`,
          );
        }
        if (tasks.has(name) && tasks.get(name) !== m[1]) {
          throw new CouldNotRun(`two Task states are named "${name}" and call different functions`);
        }
        tasks.set(name, m[1]);
      }
      // Only waits of a duration are shortened: a Wait until a timestamp
      // (the backfill's paced starts) keeps the time it names.
      if (state.Type === 'Wait' && (state.Seconds !== undefined || state.SecondsPath !== undefined)) waits.add(name);
      if (Array.isArray(state.Retry)) retries.add(name);
    }
  }
  return { tasks, starts, waits, retries };
}

/** The definition file's text and the definition with its substitutions filled. */
export function readDefinition(path) {
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CouldNotRun(`cannot read the definition ${path}: ${e.message}`);
  }
  let raw;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CouldNotRun(`the definition ${path} is not JSON: ${e.message}`);
  }
  const unfilled = new Set();
  const definition = fillSubstitutions(raw, unfilled);
  if (unfilled.size > 0) {
    throw new CouldNotRun(`the definition has substitutions this runner cannot fill: ${[...unfilled].join(', ')}`);
  }
  if (!definition || typeof definition.States !== 'object' || definition.States === null) {
    throw new CouldNotRun(`the definition ${path} has no States`);
  }
  return { text, definition };
}

export function loadDefinition(path) {
  return readDefinition(path).definition;
}

/** The library's state machine; its constructor validates the ASL. */
export function buildStateMachine(definition, path) {
  try {
    return new StateMachine(definition);
  } catch (e) {
    throw new CouldNotRun(`the definition ${path} is not valid ASL: ${e.message}`);
  }
}

/** A number of seconds >= 0 from an environment variable's text, or undefined. */
function nonNegative(raw) {
  const value = Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** VENDORLINK_WAIT_SECONDS: undefined (keep the definition's waits) or seconds >= 0. */
export function waitSeconds(env = process.env) {
  const raw = env.VENDORLINK_WAIT_SECONDS;
  if (raw === undefined || raw === '') return undefined;
  const value = nonNegative(raw);
  if (value === undefined) {
    throw new CouldNotRun(`VENDORLINK_WAIT_SECONDS must be a number of seconds >= 0, not "${raw}"`);
  }
  return value;
}

/**
 * VENDORLINK_RETRY_SECONDS: the pause before every retry, in seconds, or
 * undefined to keep the definition's intervals (IntervalSeconds, BackoffRate,
 * MaxDelaySeconds, JitterStrategy). Unset, retries follow `wait`
 * (VENDORLINK_WAIT_SECONDS), as they did before this knob existed.
 */
export function retrySeconds(wait, env = process.env) {
  const raw = env.VENDORLINK_RETRY_SECONDS;
  if (raw === undefined || raw === '') return wait;
  if (raw === 'definition') return undefined;
  const value = nonNegative(raw);
  if (value === undefined) {
    throw new CouldNotRun(
      `VENDORLINK_RETRY_SECONDS must be a number of seconds >= 0, or "definition" for the definition's own ` +
        `retry intervals, not "${raw}"`,
    );
  }
  return value;
}

/** `, waits 1s, retry pauses 0s` for a log line; empty when the definition's timing is kept. */
export function timingNote(wait, retry) {
  if (wait === undefined && retry === undefined) return '';
  const waits = wait === undefined ? 'waits as defined' : `waits ${wait}s`;
  const retries = retry === undefined ? 'retry pauses as defined' : `retry pauses ${retry}s`;
  return `, ${waits}, ${retries}`;
}

export function functionHost(env = process.env) {
  const port = env.FUNCTION_PORT;
  if (!port || !/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    throw new CouldNotRun(`FUNCTION_PORT must be the function host's port, not "${port ?? ''}"`);
  }
  return `http://127.0.0.1:${port}`;
}

export function label(stateName, input) {
  const vendor = input && typeof input === 'object' && typeof input.vendor === 'string' ? input.vendor : null;
  return vendor ? `${stateName}[${vendor}]` : stateName;
}

/**
 * How many calls to one function may be in flight at the function host at
 * once; the rest wait here, in order. `cargo lambda watch` (1.9.2) stops
 * delivering a function's invocations for good once about a hundred are
 * queued for it (seen with 21 executions of five parallel branches), so a
 * burst is queued here instead. VENDORLINK_SFN_MAX_IN_FLIGHT (default 32).
 */
export function maxInFlight(env = process.env) {
  const raw = env.VENDORLINK_SFN_MAX_IN_FLIGHT;
  if (raw === undefined || raw === '') return 32;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new CouldNotRun(`VENDORLINK_SFN_MAX_IN_FLIGHT must be a whole number of at least 1, not "${raw}"`);
  }
  return n;
}

/** A counting semaphore: `acquire(signal)` resolves to a release function. */
export class Limiter {
  constructor(limit) {
    this.limit = limit;
    this.active = 0;
    this.waiting = [];
  }

  acquire(signal) {
    return new Promise((resolvePromise, reject) => {
      const grant = () => {
        this.active += 1;
        let released = false;
        resolvePromise(() => {
          if (released) return;
          released = true;
          this.active -= 1;
          const next = this.waiting.shift();
          if (next) next();
        });
      };
      if (this.active < this.limit) {
        grant();
        return;
      }
      const entry = () => {
        signal?.removeEventListener('abort', onAbort);
        grant();
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal.reason ?? new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
  }
}

const limiters = new Map();
/** The process-wide limiter of one function host's function. */
export function limiterFor(host, fn) {
  const key = `${host} ${fn}`;
  if (!limiters.has(key)) limiters.set(key, new Limiter(maxInFlight()));
  return limiters.get(key);
}

/**
 * A Task handler that sends the state's input to the function host and
 * returns the function's result. A function error is thrown as an Error whose
 * name is the function's errorType and whose message is its errorMessage, so
 * Retry/Catch match on it. Problems of the host itself (down, unknown
 * function) stop the run: `infrastructure` receives them.
 *
 * Options:
 *   infrastructure(error)  called with a CouldNotRun before it is thrown; returns it
 *   log(line)              one line per invocation (results, errors)
 *   quiet                  no line for an invocation that succeeded
 *   signal                 an AbortSignal that cancels the request in flight when
 *                          the execution ends (stopped, timed out, failed in a
 *                          sibling Map iteration); the library itself does not
 *                          cancel Task handlers, and retries an aborted state
 *                          without pausing, so once it is aborted no request is made
 */
export function taskHandler(host, stateName, fn, { infrastructure, log, quiet = false, signal } = {}) {
  const url = `${host}/2015-03-31/functions/${encodeURIComponent(fn)}/invocations`;
  const stopped = () => {
    const error = new Error(`the execution ended before ${fn} answered`);
    error.name = 'Local.Stopped';
    return error;
  };
  return async (input) => {
    if (signal?.aborted) throw stopped();
    const started = Date.now();
    const where = label(stateName, input);
    let response;
    let body;
    let release;
    try {
      release = await limiterFor(host, fn).acquire(signal);
    } catch {
      throw stopped();
    }
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(input),
        signal,
      });
      body = await response.text();
    } catch (e) {
      if (signal?.aborted) throw stopped();
      const reason = e.cause?.code ?? e.cause?.message ?? e.message;
      throw infrastructure(new CouldNotRun(`function host ${host} unreachable invoking ${fn}: ${reason}`));
    } finally {
      release();
    }
    const ms = Date.now() - started;
    if (response.status === 200) {
      let result = null;
      if (body.trim() !== '') {
        try {
          result = JSON.parse(body);
        } catch {
          log(`${where} -> ${fn}: result is not JSON (${ms} ms)`);
          const error = new Error(`${fn} returned a result that is not JSON`);
          error.name = 'Lambda.Unknown';
          throw error;
        }
      }
      if (!quiet) log(`${where} -> ${fn}: ok (${ms} ms)`);
      return result;
    }
    if (response.status === 500) {
      // cargo lambda watch answers a function error with 500 and the body the
      // runtime posted to /runtime/invocation/<id>/error: {errorType, errorMessage}.
      let detail = null;
      try {
        detail = JSON.parse(body);
      } catch {
        // not the runtime's error body
      }
      // As on AWS, the Cause a Catch sees is the function's error document.
      const error = new Error(
        typeof detail?.errorMessage === 'string'
          ? JSON.stringify({ errorType: detail.errorType, errorMessage: detail.errorMessage })
          : body.slice(0, 2000),
      );
      error.name = typeof detail?.errorType === 'string' && detail.errorType ? detail.errorType : 'Lambda.Unknown';
      log(`${where} -> ${fn}: ${error.name} (${ms} ms)`);
      throw error;
    }
    if (response.status === 408) {
      // cargo lambda watch --timeout N: the function gave no answer in time
      // (a function that exits at start-up looks the same).
      log(`${where} -> ${fn}: no answer (${ms} ms)`);
      const error = new Error(
        `${fn} gave no answer within the function host's timeout (did it exit at start-up? see its log above)`,
      );
      error.name = 'States.Timeout';
      throw error;
    }
    throw infrastructure(
      new CouldNotRun(`function host answered ${response.status} invoking ${fn}: ${body.slice(0, 500)}`),
    );
  };
}

/**
 * The `overrides` run option: every Task calls the function host; Wait states
 * last `wait` seconds and Retry pauses `retry` seconds, each when defined.
 * `handlerOptions` are taskHandler's options.
 */
export function buildOverrides({ tasks, starts = new Set(), waits, retries }, { host, wait, retry, startSync, ...handlerOptions }) {
  if (starts.size > 0 && !startSync) {
    throw new CouldNotRun(
      `Task state "${[...starts][0]}" starts another execution: only the local Step Functions endpoint (server.mjs) runs it`,
    );
  }
  const overrides = {
    taskResourceLocalHandlers: Object.fromEntries([
      ...[...tasks].map(([stateName, fn]) => [stateName, taskHandler(host, stateName, fn, handlerOptions)]),
      ...[...starts].map((stateName) => [stateName, startSync(stateName)]),
    ]),
  };
  if (wait !== undefined) {
    overrides.waitTimeOverrides = Object.fromEntries([...waits].map((s) => [s, wait * 1000]));
  }
  if (retry !== undefined) {
    // A number applies to every retrier of the state.
    overrides.retryIntervalOverrides = Object.fromEntries([...retries].map((s) => [s, retry * 1000]));
  }
  return overrides;
}

/** A log line for the interesting events (retries, catches, the end), or null; `startedAt` in ms. */
export function describeEvent(event, startedAt) {
  const where = event.state && (event.index !== undefined ? `${event.state.name}#${event.index}` : event.state.name);
  const elapsed = () => `${((event.timestamp - startedAt) / 1000).toFixed(1)} s`;
  switch (event.type) {
    case 'StateRetried':
      return `${where}: retry ${event.retry.attempt} of ${event.retry.retrier.MaxAttempts ?? 3} (${event.retry.retrier.ErrorEquals.join(', ')})`;
    case 'StateCaught':
      return `${where}: caught, next ${event.catch.catcher.Next}`;
    case 'MapIterationFailed':
      return `${event.parentState.name}#${event.index}: iteration failed: ${event.Error}`;
    case 'ExecutionFailed':
      return `execution failed after ${elapsed()}: ${event.Error}`;
    case 'ExecutionSucceeded':
      return `execution succeeded after ${elapsed()}`;
    case 'ExecutionTimeout':
      return 'execution timed out';
    default:
      return null;
  }
}

/**
 * {error, cause} of an execution that failed: `error` is the library's
 * ExecutionError, `failedEvent` its ExecutionFailed event when one was seen.
 * As on AWS, `cause` is a string (a Fail state's Cause, a function's error
 * document), never parsed here.
 */
export function failureOf(error, failedEvent) {
  const failure = error.cause ?? {};
  return {
    error: failedEvent?.Error ?? failure.name ?? 'States.Runtime',
    cause: typeof failedEvent?.Cause === 'string' ? failedEvent.Cause : failure.message,
  };
}

export function parseCause(cause) {
  if (typeof cause !== 'string') return undefined;
  try {
    const parsed = JSON.parse(cause);
    return parsed !== null && typeof parsed === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The execution's output or error, once its event log has been read to the
 * end: the log closes with the execution, and its last events (such as
 * ExecutionFailed) may still be queued. An aborted run may never close it,
 * so this waits at most a second for that.
 */
export async function settled(execution, drained) {
  let output;
  let error = null;
  try {
    output = await execution.result;
  } catch (e) {
    error = e;
  }
  let timer;
  await Promise.race([drained, new Promise((r) => (timer = setTimeout(r, 1000)))]);
  clearTimeout(timer);
  return { output, error };
}
