// A local Step Functions endpoint: speaks the subset of the Step Functions API
// (AWS JSON 1.0 protocol) that vendorlink's admin CLI uses, and runs every
// execution of one state machine (by default vendorlink's real
// statemachine/vendorlink.asl.json) with aws-local-stepfunctions, exactly as
// run.mjs runs one. Point the AWS SDK at it with
// AWS_ENDPOINT_URL_SFN=http://127.0.0.1:PORT.
//
//   node --require local/sfn/polyfill.cjs local/sfn/server.mjs [options]
//
//   --definition FILE   the ASL file (default: statemachine/vendorlink.asl.json)
//   --name NAME         the state machine's name (default: vendorlink); its ARN
//                       is arn:aws:states:us-east-1:000000000000:stateMachine:NAME
//   --port N            the port on 127.0.0.1 (default 0: a free one)
//   --also NAME=FILE    one more state machine served beside it (repeatable),
//                       e.g. --also backfill=statemachine/backfill.asl.json;
//                       its Task states may start executions of the others
//                       (arn:aws:states:::states:startExecution.sync:2: the
//                       child is started here and waited for, as on AWS)
//   --ready-file PATH   once listening, write {"port", "stateMachineArn"} there
//                       (whole or not at all: written aside, then renamed);
//                       removed again on SIGTERM/SIGINT
//
// Environment:
//   FUNCTION_PORT             loopback port of the function host (`cargo lambda
//                             watch`); every Task POSTs its input to
//                             /2015-03-31/functions/<name>/invocations there
//   VENDORLINK_WAIT_SECONDS   when set, every Wait state and every Retry pause
//                             lasts this many seconds (0 allowed)
//   VENDORLINK_RETRY_SECONDS  when set, every Retry pause lasts this many
//                             seconds instead (0 allowed); `definition` keeps
//                             the definition's retry intervals even when
//                             VENDORLINK_WAIT_SECONDS is set
//   VENDORLINK_SFN_VERBOSE=1  also log every function call that succeeded
//   VENDORLINK_SFN_MAX_IN_FLIGHT  calls to one function in flight at the host
//                             at once (default 32); the rest wait their turn
//
// Operations (POST /, header X-Amz-Target: AWSStepFunctions.<Operation>, JSON
// body; SigV4 headers are ignored): StartExecution, DescribeExecution,
// ListExecutions, StopExecution, DescribeStateMachine. Errors are HTTP 400 with
// {"__type": code, "message"} and the x-amzn-errortype header. Timestamps are
// epoch seconds. Executions live in memory until the server stops.
//
// Outside the AWS protocol, GET /_local/executions answers
// {total, running, succeeded, failed, timedOut, aborted} of the first state
// machine (?stateMachine=NAME: of that one).
//
// A function host that is down or answers other than 200/500/408 fails that
// execution with error Local.CouldNotRun (the problem as cause); the server
// keeps serving. Logs go to stderr: a line when an execution starts and ends,
// and its retries, catches and failed function calls, prefixed with its name.
// Exit status: 0 after SIGTERM/SIGINT (running executions are aborted), 2 when
// the server cannot start.

import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
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
  stateMachineArnOf,
  buildStateMachine,
  describeEvent,
  failureOf,
  functionHost,
  inspect,
  readDefinition,
  retrySeconds,
  settled,
  timingNote,
  waitSeconds,
  maxInFlight,
} from './lib.mjs';

const EXIT_COULD_NOT_START = 2;
const CONTENT_TYPE = 'application/x-amz-json-1.0';
const MAX_BODY_BYTES = 1024 * 1024;
const MAX_RESULTS = 1000;
const DEFAULT_MAX_RESULTS = 100;
const STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];
/** A valid statusFilter that no local execution ever has (redrive is not supported here). */
const PENDING_REDRIVE = 'PENDING_REDRIVE';
/** status -> key of the /_local/executions summary. */
const COUNTER = {
  RUNNING: 'running',
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
  TIMED_OUT: 'timedOut',
  ABORTED: 'aborted',
};
const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[^:\s]+$/;
const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^:\s]+:[^:\s]+$/;
/** Event types whose lines are logged per execution; its own start and end lines replace the Execution* ones. */
const LOGGED_EVENTS = new Set(['StateRetried', 'StateCaught', 'MapIterationFailed']);
const VERBOSE = process.env.VENDORLINK_SFN_VERBOSE === '1';

function say(message) {
  process.stderr.write(`server.mjs: ${message}\n`);
}

/** AWS JSON timestamps: epoch seconds, fractional. */
function epochSeconds(ms) {
  return ms / 1000;
}

/** An error answered to the client: HTTP 400 (unless told) with an AWS error code. */
class ApiError extends Error {
  constructor(code, message, status = 400) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

// ---------------------------------------------------------------- start-up

function configure(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        definition: { type: 'string' },
        name: { type: 'string', default: 'vendorlink' },
        also: { type: 'string', multiple: true, default: [] },
        port: { type: 'string', default: '0' },
        'ready-file': { type: 'string' },
      },
    }));
  } catch (e) {
    throw new CouldNotRun(
      `${e.message}\nusage: server.mjs [--definition FILE] [--name NAME] [--also NAME=FILE]... [--port N] [--ready-file PATH]`,
    );
  }
  if (!NAME.test(values.name)) {
    throw new CouldNotRun(`state machine name "${values.name}" is not valid (1-80 of A-Z a-z 0-9 _ -)`);
  }
  if (!/^\d+$/.test(values.port) || Number(values.port) > 65535) {
    throw new CouldNotRun(`--port must be a port number (0 for a free one), not "${values.port}"`);
  }
  const machine = (name, path) => {
    const { text, definition } = readDefinition(path);
    return {
      name,
      arn: stateMachineArnOf(name),
      definitionPath: path,
      definitionText: text,
      inspected: inspect(definition),
      stateMachine: buildStateMachine(definition, path),
    };
  };
  const machines = [machine(values.name, values.definition ? resolve(values.definition) : DEFAULT_DEFINITION)];
  for (const also of values.also) {
    const m = /^([^=]+)=(.+)$/.exec(also);
    if (!m || !NAME.test(m[1])) throw new CouldNotRun(`--also takes NAME=FILE, not "${also}"`);
    if (machines.some((x) => x.name === m[1])) throw new CouldNotRun(`two state machines are named "${m[1]}"`);
    machines.push(machine(m[1], resolve(m[2])));
  }
  const wait = waitSeconds();
  maxInFlight(); // checked at start, not at the first call
  return {
    machines,
    name: values.name,
    port: Number(values.port),
    readyFile: values['ready-file'] ? resolve(values['ready-file']) : null,
    host: functionHost(),
    wait,
    retry: retrySeconds(wait),
  };
}

let config;
try {
  config = configure(process.argv.slice(2));
} catch (e) {
  if (!(e instanceof CouldNotRun)) throw e;
  say(`could not start: ${e.message}`);
  process.exit(EXIT_COULD_NOT_START);
}

/** The first state machine: the ready file's, the counters'. */
const stateMachineArn = config.machines[0].arn;
const machinesByArn = new Map(config.machines.map((m) => [m.arn, m]));
const createdAt = Date.now();

// ---------------------------------------------------------------- executions

/**
 * Every execution, oldest first; an execution's `seq` is its index here.
 * {seq, name, executionArn, input, startDate, status, stopDate?, output?,
 *  error?, cause?, stop?}; dates in ms.
 */
const records = [];
/** executionArn -> record. */
const byArn = new Map();
const newCounts = () => ({ total: 0, running: 0, succeeded: 0, failed: 0, timedOut: 0, aborted: 0 });
/** Per state machine name. */
const countsOf = new Map(config.machines.map((m) => [m.name, newCounts()]));
/** The first state machine's (GET /_local/executions). */
const counts = countsOf.get(config.machines[0].name);

function executionArnOf(machine, name) {
  return `${machine.arn.replace(':stateMachine:', ':execution:')}:${name}`;
}

/** Closes a RUNNING execution: counts, dates, the end line (unless `quiet`). */
function finish(record, status, fields = {}, { quiet = false } = {}) {
  const c = countsOf.get(record.machine.name);
  c.running -= 1;
  c[COUNTER[status]] += 1;
  Object.assign(record, { status, stopDate: Date.now(), stop: null }, fields);
  record.closed();
  if (quiet) return;
  const took = `${((record.stopDate - record.startDate) / 1000).toFixed(1)} s`;
  let detail = '';
  if (status === 'FAILED') {
    detail = `: ${record.error}`;
    // Only an infrastructure problem's cause is worth a line; a function's or a Fail state's is in DescribeExecution.
    if (record.error === 'Local.CouldNotRun') detail += ` (${String(record.cause).slice(0, 300)})`;
  }
  if (status === 'ABORTED' && (fields.stopError || fields.stopCause)) {
    detail = `: ${[fields.stopError, fields.stopCause].filter(Boolean).join(': ').slice(0, 300)}`;
  }
  say(`${record.name}: ${status} after ${took}${detail}`);
}

/** Starts `record`'s execution in the background. */
function launch(record, input) {
  const { name } = record;
  const log = (line) => say(`${name}: ${line}`);
  // Cancels function calls still in flight when the execution ends (see taskHandler's `signal`).
  const calls = new AbortController();
  let infrastructureError = null;
  let execution = null;
  const infrastructure = (error) => {
    if (!infrastructureError) {
      infrastructureError = error;
      calls.abort();
      execution?.abort();
    }
    return error;
  };
  const overrides = buildOverrides(record.machine.inspected, {
    host: config.host,
    wait: config.wait,
    retry: config.retry,
    infrastructure,
    log,
    quiet: !VERBOSE,
    signal: calls.signal,
    startSync: (stateName) => startSync(stateName, record, calls.signal),
  });
  execution = record.machine.stateMachine.run(input, {
    overrides,
    context: {
      Execution: {
        Id: record.executionArn,
        Name: name,
        RoleArn: ROLE_ARN,
        // aws-local-stepfunctions 3.0.0 sets these two itself (the same input,
        // and the moment it starts); given for a library that would not.
        Input: input,
        StartTime: new Date(record.startDate).toISOString(),
      },
      StateMachine: { Id: record.machine.arn, Name: record.machine.name },
    },
  });
  record.stop = () => {
    calls.abort();
    execution.abort();
  };
  // A problem reported before run() returned could not abort the execution yet.
  if (infrastructureError) execution.abort();
  log('started');

  let failedEvent = null;
  const drained = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'ExecutionFailed') failedEvent = event;
      if (!LOGGED_EVENTS.has(event.type)) continue;
      let line;
      try {
        line = describeEvent(event, record.startDate);
      } catch (e) {
        line = `(could not describe a ${event.type} event: ${e.message})`;
      }
      if (line) log(line);
    }
  })().catch((e) => log(`(reading the event log failed: ${e.stack ?? e})`));

  const settle = async () => {
    const { output, error } = await settled(execution, drained);
    calls.abort();
    // Stopped (StopExecution, shutdown) while the library was winding down: already closed.
    if (record.status !== 'RUNNING') return;
    if (infrastructureError) {
      finish(record, 'FAILED', { error: infrastructureError.name, cause: infrastructureError.message });
    } else if (!error) {
      finish(record, 'SUCCEEDED', { output: JSON.stringify(output ?? null) });
    } else if (error.name === 'ExecutionTimeoutError') {
      finish(record, 'TIMED_OUT');
    } else if (error.name === 'ExecutionError') {
      finish(record, 'FAILED', failureOf(error, failedEvent));
    } else {
      // ExecutionAbortedError with no stop nor infrastructure problem, or a bug.
      throw error;
    }
  };
  settle().catch((e) => {
    // A bug of this server or of the library: keep serving, make it visible.
    say(`${name}: internal error: ${e.stack ?? e}`);
    if (record.status === 'RUNNING') {
      finish(record, 'FAILED', { error: 'Local.CouldNotRun', cause: `${e.name}: ${e.message}` });
    }
  });
}

// ---------------------------------------------------------------- request fields

function field(body, name, type, { required = false } = {}) {
  const value = body[name];
  if (value === undefined || value === null) {
    if (required) {
      throw new ApiError(
        'ValidationException',
        `1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`,
      );
    }
    return undefined;
  }
  if (typeof value !== type) throw new ApiError('SerializationException', `'${name}' must be a ${type}`);
  return value;
}

function maxLength(name, value, max) {
  if (value !== undefined && value.length > max) {
    throw new ApiError(
      'ValidationException',
      `1 validation error detected: Value at '${name}' failed to satisfy constraint: Member must have length less ` +
        `than or equal to ${max}`,
    );
  }
}

function checkStateMachine(arn) {
  const machine = machinesByArn.get(arn);
  if (machine) return machine;
  if (!STATE_MACHINE_ARN.test(arn)) throw new ApiError('InvalidArn', `Invalid Arn: '${arn}'`);
  throw new ApiError(
    'StateMachineDoesNotExist',
    `State Machine Does Not Exist: '${arn}' (this endpoint serves ${[...machinesByArn.keys()].join(', ')})`,
  );
}

/**
 * The handler of a Task state `arn:aws:states:::states:startExecution.sync:2`
 * in `parent`'s execution: starts the child here and waits for it, answering
 * as AWS does: the child's DescribeExecution with its Output parsed when it
 * succeeded; else the Task fails with States.TaskFailed (the description as
 * cause), or StepFunctions.ExecutionAlreadyExistsException when the name is
 * taken. When the parent ends first, the child is stopped.
 */
function startSync(stateName, parent, signal) {
  return async (parameters) => {
    const { StateMachineArn, Name, Input } = parameters ?? {};
    let started;
    try {
      started = operations.StartExecution({
        stateMachineArn: StateMachineArn,
        name: Name,
        input: typeof Input === 'string' ? Input : JSON.stringify(Input ?? {}),
      });
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      const error = new Error(e.message);
      error.name = `StepFunctions.${e.code}${e.code.endsWith('Exception') ? '' : 'Exception'}`;
      throw error;
    }
    const child = byArn.get(started.executionArn);
    const stopChild = () => operations.StopExecution({ executionArn: child.executionArn, cause: `${parent.name} ended` });
    signal?.addEventListener('abort', stopChild, { once: true });
    try {
      await child.done;
    } finally {
      signal?.removeEventListener('abort', stopChild);
    }
    const described = operations.DescribeExecution({ executionArn: child.executionArn });
    if (child.status === 'SUCCEEDED') {
      return {
        ExecutionArn: described.executionArn,
        StateMachineArn: described.stateMachineArn,
        Name: described.name,
        Status: described.status,
        StartDate: described.startDate,
        StopDate: described.stopDate,
        Input: JSON.parse(described.input),
        Output: JSON.parse(described.output ?? 'null'),
      };
    }
    if (VERBOSE) say(`${parent.name}: ${stateName}: ${child.name} ${child.status}`);
    const error = new Error(JSON.stringify(described));
    error.name = 'States.TaskFailed';
    throw error;
  };
}

function findExecution(arn) {
  const record = byArn.get(arn);
  if (record) return record;
  if (!EXECUTION_ARN.test(arn)) throw new ApiError('InvalidArn', `Invalid Arn: '${arn}'`);
  throw new ApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
}

/** ListExecutions' opaque token: where the next page starts (executions before this seq). */
function encodeToken(before) {
  return Buffer.from(JSON.stringify({ before })).toString('base64url');
}

function decodeToken(token) {
  let before;
  try {
    ({ before } = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')));
  } catch {
    before = undefined; // not one of ours; answered below
  }
  if (!Number.isInteger(before) || before < 0 || before > records.length) {
    throw new ApiError('InvalidToken', `Invalid Token: '${token}'`);
  }
  return before;
}

// ---------------------------------------------------------------- operations

const operations = {
  StartExecution(body) {
    const machine = checkStateMachine(field(body, 'stateMachineArn', 'string', { required: true }));
    const name = field(body, 'name', 'string') ?? randomUUID();
    if (!NAME.test(name)) {
      throw new ApiError('InvalidName', `Invalid Name: '${name}' (1-80 of A-Z a-z 0-9 _ - here)`);
    }
    const input = field(body, 'input', 'string') ?? '{}';
    let parsed;
    try {
      parsed = JSON.parse(input);
    } catch (e) {
      throw new ApiError('InvalidExecutionInput', `Invalid State Machine Execution Input: '${e.message}'`);
    }
    const executionArn = executionArnOf(machine, name);
    const existing = byArn.get(executionArn);
    if (existing) {
      // AWS: StartExecution is idempotent for a STANDARD state machine while the
      // execution of that name is RUNNING and the input is the same (compared as
      // text): it answers that execution. A closed execution's name, or other
      // input, is ExecutionAlreadyExists (names stay taken for 90 days on AWS;
      // here for the server's life).
      if (existing.status === 'RUNNING' && existing.input === input) {
        return { executionArn, startDate: epochSeconds(existing.startDate) };
      }
      throw new ApiError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const record = { seq: records.length, machine, name, executionArn, input, startDate: Date.now(), status: 'RUNNING' };
    record.done = new Promise((resolved) => {
      record.closed = resolved;
    });
    records.push(record);
    byArn.set(executionArn, record);
    const c = countsOf.get(machine.name);
    c.total += 1;
    c.running += 1;
    try {
      launch(record, parsed);
    } catch (e) {
      say(`${name}: could not start: ${e.stack ?? e}`);
      finish(record, 'FAILED', { error: 'Local.CouldNotRun', cause: `${e.name}: ${e.message}` });
    }
    return { executionArn, startDate: epochSeconds(record.startDate) };
  },

  DescribeExecution(body) {
    const record = findExecution(field(body, 'executionArn', 'string', { required: true }));
    const answer = {
      executionArn: record.executionArn,
      stateMachineArn: record.machine.arn,
      name: record.name,
      status: record.status,
      startDate: epochSeconds(record.startDate),
      input: record.input,
      inputDetails: { included: true },
    };
    if (record.stopDate !== undefined) answer.stopDate = epochSeconds(record.stopDate);
    if (record.status === 'SUCCEEDED') {
      answer.output = record.output;
      answer.outputDetails = { included: true };
    }
    if (record.status === 'FAILED') {
      // As AWS reports a failure: the error name, and the cause as the text it was
      // (a Fail state's Cause, a function's {errorType, errorMessage} document).
      if (record.error !== undefined) answer.error = record.error;
      if (record.cause !== undefined) answer.cause = record.cause;
    }
    return answer;
  },

  ListExecutions(body) {
    const machine = checkStateMachine(field(body, 'stateMachineArn', 'string', { required: true }));
    const statusFilter = field(body, 'statusFilter', 'string');
    if (statusFilter !== undefined && !STATUSES.includes(statusFilter) && statusFilter !== PENDING_REDRIVE) {
      throw new ApiError(
        'ValidationException',
        `1 validation error detected: Value '${statusFilter}' at 'statusFilter' failed to satisfy constraint: ` +
          `Member must satisfy enum value set: [${[...STATUSES, PENDING_REDRIVE].join(', ')}]`,
      );
    }
    const maxResults = field(body, 'maxResults', 'number');
    if (maxResults !== undefined && (!Number.isInteger(maxResults) || maxResults < 0 || maxResults > MAX_RESULTS)) {
      throw new ApiError(
        'ValidationException',
        `1 validation error detected: Value '${maxResults}' at 'maxResults' failed to satisfy constraint: ` +
          `Member must be an integer from 0 to ${MAX_RESULTS}`,
      );
    }
    // As on AWS, 0 means the default page size.
    const pageSize = maxResults || DEFAULT_MAX_RESULTS;
    const token = field(body, 'nextToken', 'string');
    const before = token === undefined ? records.length : decodeToken(token);
    // Newest first: by start, which is the order of `records`.
    const executions = [];
    let nextToken;
    for (let seq = before - 1; seq >= 0; seq -= 1) {
      const record = records[seq];
      if (record.machine !== machine) continue;
      if (statusFilter !== undefined && record.status !== statusFilter) continue;
      if (executions.length === pageSize) {
        nextToken = encodeToken(seq + 1);
        break;
      }
      executions.push(record);
    }
    return {
      executions: executions.map((record) => {
        const item = {
          executionArn: record.executionArn,
          stateMachineArn: machine.arn,
          name: record.name,
          status: record.status,
          startDate: epochSeconds(record.startDate),
        };
        if (record.stopDate !== undefined) item.stopDate = epochSeconds(record.stopDate);
        return item;
      }),
      ...(nextToken === undefined ? {} : { nextToken }),
    };
  },

  StopExecution(body) {
    const record = findExecution(field(body, 'executionArn', 'string', { required: true }));
    const error = field(body, 'error', 'string');
    const cause = field(body, 'cause', 'string');
    maxLength('error', error, 256);
    maxLength('cause', cause, 32768);
    // AWS documents no error for stopping an execution that has already
    // closed; here that changes nothing and answers the date it closed.
    if (record.status === 'RUNNING') {
      const { stop } = record;
      finish(record, 'ABORTED', { stopError: error, stopCause: cause });
      stop();
    }
    return { stopDate: epochSeconds(record.stopDate) };
  },

  DescribeStateMachine(body) {
    const machine = checkStateMachine(field(body, 'stateMachineArn', 'string', { required: true }));
    return {
      stateMachineArn: machine.arn,
      name: machine.name,
      status: 'ACTIVE',
      definition: machine.definitionText,
      roleArn: ROLE_ARN,
      type: 'STANDARD',
      creationDate: epochSeconds(createdAt),
    };
  },
};

// ---------------------------------------------------------------- HTTP

function send(res, status, document, headers = {}) {
  const text = JSON.stringify(document);
  res.writeHead(status, {
    'content-type': CONTENT_TYPE,
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  res.end(text);
}

function sendError(res, { code, message, status }) {
  // The SDKs read the code from this header, or else from __type.
  send(res, status, { __type: code, message }, { 'x-amzn-errortype': code });
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  if (size > MAX_BODY_BYTES) {
    throw new ApiError('ValidationException', `the request body is larger than ${MAX_BODY_BYTES} bytes`);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function handle(req, res) {
  const [path, query = ''] = req.url.split('?');
  if (req.method === 'GET' && path === '/_local/executions') {
    const name = new URLSearchParams(query).get('stateMachine') ?? config.machines[0].name;
    if (!countsOf.has(name)) throw new ApiError('StateMachineDoesNotExist', `no state machine "${name}" here`, 404);
    send(res, 200, countsOf.get(name), { 'content-type': 'application/json' });
    return;
  }
  if (req.method !== 'POST' || path !== '/') {
    throw new ApiError(
      'UnknownOperationException',
      `no ${req.method} ${path} here: the Step Functions API is POST / (and GET /_local/executions)`,
      404,
    );
  }
  const text = await readBody(req);
  const target = req.headers['x-amz-target'] ?? '';
  const m = /^AWSStepFunctions\.([A-Za-z]+)$/.exec(target);
  if (!m || !Object.hasOwn(operations, m[1])) {
    throw new ApiError(
      'UnknownOperationException',
      `unknown operation "${target}": this local endpoint serves AWSStepFunctions.` +
        `{${Object.keys(operations).join(',')}}`,
    );
  }
  // The SDKs always send a JSON object; an empty body is taken as {} (curl-friendly).
  let body;
  try {
    body = text.trim() === '' ? {} : JSON.parse(text);
  } catch (e) {
    throw new ApiError('SerializationException', `the request body is not JSON: ${e.message}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ApiError('SerializationException', 'the request body must be a JSON object');
  }
  send(res, 200, operations[m[1]](body));
}

const server = createServer((req, res) => {
  handle(req, res).catch((e) => {
    if (e instanceof ApiError) {
      sendError(res, e);
      return;
    }
    if (e.code === 'ECONNRESET' && req.destroyed) return; // the client went away mid-request
    say(`internal error answering ${req.method} ${req.url} ${req.headers['x-amz-target'] ?? ''}: ${e.stack ?? e}`);
    if (res.headersSent) res.destroy();
    else sendError(res, { code: 'InternalFailure', message: `${e.name}: ${e.message}`, status: 500 });
  });
});
// The AWS SDK for Rust keeps idle connections for up to 90 s. A server that
// closes them sooner races the client reusing one (an I/O error, retried by the
// SDK); keep them open longer than the client does.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 125_000;

function writeReadyFile(port) {
  const aside = `${config.readyFile}.${process.pid}.tmp`;
  const stateMachines = Object.fromEntries(config.machines.map((m) => [m.name, m.arn]));
  writeFileSync(aside, `${JSON.stringify({ port, stateMachineArn, stateMachines })}\n`);
  renameSync(aside, config.readyFile);
}

server.on('error', (e) => {
  say(`could not listen on 127.0.0.1:${config.port}: ${e.message}`);
  process.exit(EXIT_COULD_NOT_START);
});

server.listen(config.port, '127.0.0.1', () => {
  const { port } = server.address();
  if (config.readyFile) {
    try {
      writeReadyFile(port);
    } catch (e) {
      say(`could not write the ready file ${config.readyFile}: ${e.message}`);
      process.exit(EXIT_COULD_NOT_START);
    }
  }
  say(
    `listening on http://127.0.0.1:${port} for ${config.machines.map((m) => `${m.arn} (${m.definitionPath})`).join(', ')} (functions at ` +
      `${config.host}${timingNote(config.wait, config.retry)})`,
  );
});

let stopping = false;
function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  const running = records.filter((record) => record.status === 'RUNNING');
  for (const record of running) {
    const { stop } = record;
    finish(record, 'ABORTED', {}, { quiet: true });
    stop?.();
  }
  say(
    `${signal}: stopping after ${counts.total} executions (${counts.succeeded} succeeded, ${counts.failed} failed, ` +
      `${counts.timedOut} timed out, ${counts.aborted} aborted, ${running.length} of those just now)`,
  );
  server.close();
  server.closeAllConnections();
  if (config.readyFile) rmSync(config.readyFile, { force: true });
  // Exit now: aborted executions can leave timers behind. Stderr is synchronous on Linux.
  process.exit(0);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
