// Runs a state machine definition (by default vendorlink's real
// statemachine/vendorlink.asl.json) once, locally, with aws-local-stepfunctions.
//
//   node --require local/sfn/polyfill.cjs local/sfn/run.mjs [options] INPUT_FILE
//
//   --definition FILE   the ASL file (default: statemachine/vendorlink.asl.json)
//   --name NAME         the execution name (default: a unique one)
//   --print-functions   print the function names the definition's Tasks call,
//                       one a line, and exit
//
// Environment:
//   FUNCTION_PORT            loopback port of the function host (`cargo lambda
//                            watch`); every Task POSTs its input to
//                            /2015-03-31/functions/<name>/invocations there
//   VENDORLINK_WAIT_SECONDS  when set, every Wait state and every Retry pause
//                            lasts this many seconds (0 allowed)
//
// `${SomeThingFunctionArn}` substitutions are filled with
// arn:aws:lambda:us-east-1:000000000000:function:some-thing.
//
// Stdout gets exactly one JSON document: the execution's output when it
// succeeded; when it failed in a Fail state whose cause is JSON (vendorlink's
// summary), that cause parsed; otherwise {"error", "cause"}. Logs go to stderr.
// Exit status: 0 succeeded, 1 failed, 2 could not run.

import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { StateMachine } from 'aws-local-stepfunctions';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEFAULT_DEFINITION = resolve(ROOT, 'statemachine', 'vendorlink.asl.json');
const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const FUNCTION_ARN = /^arn:aws:lambda:[a-z0-9-]+:\d{12}:function:([A-Za-z0-9_-]+)$/;

const EXIT_SUCCEEDED = 0;
const EXIT_FAILED = 1;
const EXIT_COULD_NOT_RUN = 2;

/** An error that means the run could not happen (exit 2), as opposed to a failed execution. */
class CouldNotRun extends Error {
  constructor(message) {
    super(message);
    this.name = 'Local.CouldNotRun';
  }
}

function log(message) {
  process.stderr.write(`run.mjs: ${message}\n`);
}

function emit(document) {
  process.stdout.write(`${JSON.stringify(document)}\n`);
}

/** `ResolveAccount` -> `resolve-account`. */
function kebab(name) {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

/**
 * Fills `${XFunctionArn}` placeholders in every string of the definition, as
 * SAM's DefinitionSubstitutions would. Any other placeholder is an error.
 */
function fillSubstitutions(value, unfilled) {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z0-9_]+)\}/g, (whole, name) => {
      const m = /^([A-Za-z0-9]+)FunctionArn$/.exec(name);
      if (!m) {
        unfilled.add(whole);
        return whole;
      }
      return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${kebab(m[1])}`;
    });
  }
  if (Array.isArray(value)) return value.map((v) => fillSubstitutions(v, unfilled));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillSubstitutions(v, unfilled)]));
  }
  return value;
}

/** Every `States` object of the definition: the top level, Map processors, Parallel branches. */
function* stateMaps(machine) {
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
function inspect(machine) {
  const tasks = new Map();
  const waits = new Set();
  const retries = new Set();
  for (const states of stateMaps(machine)) {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task') {
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
      if (state.Type === 'Wait') waits.add(name);
      if (Array.isArray(state.Retry)) retries.add(name);
    }
  }
  return { tasks, waits, retries };
}

function loadDefinition(path) {
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
  return definition;
}

function waitSeconds() {
  const raw = process.env.VENDORLINK_WAIT_SECONDS;
  if (raw === undefined || raw === '') return undefined;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new CouldNotRun(`VENDORLINK_WAIT_SECONDS must be a number of seconds >= 0, not "${raw}"`);
  }
  return seconds;
}

function functionHost() {
  const port = process.env.FUNCTION_PORT;
  if (!port || !/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    throw new CouldNotRun(`FUNCTION_PORT must be the function host's port, not "${port ?? ''}"`);
  }
  return `http://127.0.0.1:${port}`;
}

function label(stateName, input) {
  const vendor = input && typeof input === 'object' && typeof input.vendor === 'string' ? input.vendor : null;
  return vendor ? `${stateName}[${vendor}]` : stateName;
}

/**
 * A Task handler that sends the state's input to the function host and
 * returns the function's result. A function error is thrown as an Error whose
 * name is the function's errorType and whose message is its errorMessage, so
 * Retry/Catch match on it. Problems of the host itself (down, unknown
 * function) stop the run: `infrastructure` receives them.
 */
function taskHandler(host, stateName, fn, infrastructure) {
  const url = `${host}/2015-03-31/functions/${encodeURIComponent(fn)}/invocations`;
  return async (input) => {
    const started = Date.now();
    const where = label(stateName, input);
    let response;
    let body;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(input),
      });
      body = await response.text();
    } catch (e) {
      const reason = e.cause?.code ?? e.cause?.message ?? e.message;
      throw infrastructure(new CouldNotRun(`function host ${host} unreachable invoking ${fn}: ${reason}`));
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
      log(`${where} -> ${fn}: ok (${ms} ms)`);
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

const STARTED = Date.now();

function elapsed(event) {
  return `${((event.timestamp - STARTED) / 1000).toFixed(1)} s`;
}

function describeEvent(event) {
  const where = event.state && (event.index !== undefined ? `${event.state.name}#${event.index}` : event.state.name);
  switch (event.type) {
    case 'StateRetried':
      return `${where}: retry ${event.retry.attempt} of ${event.retry.retrier.MaxAttempts ?? 3} (${event.retry.retrier.ErrorEquals.join(', ')})`;
    case 'StateCaught':
      return `${where}: caught, next ${event.catch.catcher.Next}`;
    case 'MapIterationFailed':
      return `${event.parentState.name}#${event.index}: iteration failed: ${event.Error}`;
    case 'ExecutionFailed':
      return `execution failed after ${elapsed(event)}: ${event.Error}`;
    case 'ExecutionSucceeded':
      return `execution succeeded after ${elapsed(event)}`;
    case 'ExecutionTimeout':
      return 'execution timed out';
    default:
      return null;
  }
}

function parseCause(cause) {
  if (typeof cause !== 'string') return undefined;
  try {
    const parsed = JSON.parse(cause);
    return parsed !== null && typeof parsed === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

async function main(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      definition: { type: 'string' },
      name: { type: 'string' },
      'print-functions': { type: 'boolean' },
    },
  });
  const definitionPath = values.definition ? resolve(values.definition) : DEFAULT_DEFINITION;
  const definition = loadDefinition(definitionPath);
  const { tasks, waits, retries } = inspect(definition);

  if (values['print-functions']) {
    for (const fn of new Set(tasks.values())) process.stdout.write(`${fn}\n`);
    return EXIT_SUCCEEDED;
  }

  if (positionals.length !== 1) {
    throw new CouldNotRun('usage: run.mjs [--definition FILE] [--name NAME] INPUT_FILE');
  }
  let input;
  try {
    input = JSON.parse(readFileSync(positionals[0], 'utf8'));
  } catch (e) {
    throw new CouldNotRun(`cannot read the input ${positionals[0]} as JSON: ${e.message}`);
  }

  const host = functionHost();
  const wait = waitSeconds();
  const name = values.name ?? `local-${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomBytes(4).toString('hex')}`;
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(name)) {
    throw new CouldNotRun(`execution name "${name}" is not valid (1-80 of A-Z a-z 0-9 _ -)`);
  }

  let stateMachine;
  try {
    stateMachine = new StateMachine(definition);
  } catch (e) {
    throw new CouldNotRun(`the definition ${definitionPath} is not valid ASL: ${e.message}`);
  }

  let infrastructureError = null;
  let execution;
  const infrastructure = (error) => {
    if (!infrastructureError) {
      infrastructureError = error;
      execution?.abort();
    }
    return error;
  };

  const overrides = {
    taskResourceLocalHandlers: Object.fromEntries(
      [...tasks].map(([stateName, fn]) => [stateName, taskHandler(host, stateName, fn, infrastructure)]),
    ),
  };
  if (wait !== undefined) {
    overrides.waitTimeOverrides = Object.fromEntries([...waits].map((s) => [s, wait * 1000]));
    overrides.retryIntervalOverrides = Object.fromEntries([...retries].map((s) => [s, wait * 1000]));
  }

  const stateMachineArn = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:vendorlink`;
  log(`execution ${name} of ${definitionPath} (functions at ${host}${wait !== undefined ? `, waits ${wait}s` : ''})`);

  execution = stateMachine.run(input, {
    overrides,
    context: {
      Execution: {
        Id: `arn:aws:states:${REGION}:${ACCOUNT}:execution:vendorlink:${name}`,
        Name: name,
        RoleArn: `arn:aws:iam::${ACCOUNT}:role/vendorlink-local`,
      },
      StateMachine: { Id: stateMachineArn, Name: 'vendorlink' },
    },
  });

  let lastRootFailure = null;
  let failedEvent = null;
  const drained = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateFailed' && event.index === undefined) lastRootFailure = event;
      if (event.type === 'ExecutionFailed') failedEvent = event;
      let line = null;
      try {
        line = describeEvent(event);
      } catch {
        // a log line is not worth failing the run for
      }
      if (line) log(line);
    }
  })();

  let output;
  let error = null;
  try {
    output = await execution.result;
  } catch (e) {
    error = e;
  }
  // The logger closes with the execution; don't wait forever on an abort.
  await Promise.race([drained, new Promise((r) => setTimeout(r, 1000).unref())]);

  if (infrastructureError) throw infrastructureError;
  if (!error) {
    emit(output ?? null);
    return EXIT_SUCCEEDED;
  }
  if (error.name === 'ExecutionTimeoutError') {
    emit({ error: 'States.Timeout', cause: 'the execution exceeded its TimeoutSeconds' });
    return EXIT_FAILED;
  }
  if (error.name !== 'ExecutionError') throw error;
  const failure = error.cause ?? {};
  const errorName = failedEvent?.Error ?? failure.name ?? 'States.Runtime';
  const cause = typeof failedEvent?.Cause === 'string' ? failedEvent.Cause : failure.message;
  const summary = lastRootFailure?.state?.type === 'Fail' ? parseCause(cause) : undefined;
  log(`failed with ${errorName}${summary ? ' (cause: the summary below)' : `: ${cause}`}`);
  emit(summary ?? { error: errorName, cause: cause ?? null });
  return EXIT_FAILED;
}

let code;
try {
  code = await main(process.argv.slice(2));
} catch (e) {
  const message = e instanceof CouldNotRun ? e.message : `${e.name}: ${e.message}`;
  log(`could not run: ${message}`);
  if (!(e instanceof CouldNotRun) && e.stack) process.stderr.write(`${e.stack}\n`);
  emit({ error: 'Local.CouldNotRun', cause: message });
  code = EXIT_COULD_NOT_RUN;
}
// Exit now: an aborted run can leave requests and timers in flight. Writes to
// a pipe or file are synchronous on Linux, so stdout is complete.
process.exit(code);
