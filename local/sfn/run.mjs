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
//   VENDORLINK_RETRY_SECONDS when set, every Retry pause lasts this many
//                            seconds instead (0 allowed); `definition` keeps
//                            the definition's retry intervals even when
//                            VENDORLINK_WAIT_SECONDS is set
//   VENDORLINK_SFN_MAX_IN_FLIGHT calls to one function in flight at the host
//                            at once (default 32)
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
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  ACCOUNT,
  CouldNotRun,
  DEFAULT_DEFINITION,
  NAME,
  REGION,
  ROLE_ARN,
  buildOverrides,
  buildStateMachine,
  describeEvent,
  failureOf,
  functionHost,
  inspect,
  loadDefinition,
  parseCause,
  retrySeconds,
  settled,
  timingNote,
  waitSeconds,
  maxInFlight,
} from './lib.mjs';

const EXIT_SUCCEEDED = 0;
const EXIT_FAILED = 1;
const EXIT_COULD_NOT_RUN = 2;

function log(message) {
  process.stderr.write(`run.mjs: ${message}\n`);
}

function emit(document) {
  process.stdout.write(`${JSON.stringify(document)}\n`);
}

const STARTED = Date.now();

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
  const retry = retrySeconds(wait);
  maxInFlight(); // checked at start, not at the first call
  const name = values.name ?? `local-${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomBytes(4).toString('hex')}`;
  if (!NAME.test(name)) {
    throw new CouldNotRun(`execution name "${name}" is not valid (1-80 of A-Z a-z 0-9 _ -)`);
  }

  const stateMachine = buildStateMachine(definition, definitionPath);

  let infrastructureError = null;
  let execution;
  const infrastructure = (error) => {
    if (!infrastructureError) {
      infrastructureError = error;
      execution?.abort();
    }
    return error;
  };

  const overrides = buildOverrides({ tasks, waits, retries }, { host, wait, retry, infrastructure, log });

  const stateMachineArn = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:vendorlink`;
  log(`execution ${name} of ${definitionPath} (functions at ${host}${timingNote(wait, retry)})`);

  execution = stateMachine.run(input, {
    overrides,
    context: {
      Execution: {
        Id: `arn:aws:states:${REGION}:${ACCOUNT}:execution:vendorlink:${name}`,
        Name: name,
        RoleArn: ROLE_ARN,
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
        line = describeEvent(event, STARTED);
      } catch {
        // a log line is not worth failing the run for
      }
      if (line) log(line);
    }
  })();

  const { output, error } = await settled(execution, drained);

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
  const { error: errorName, cause } = failureOf(error, failedEvent);
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
