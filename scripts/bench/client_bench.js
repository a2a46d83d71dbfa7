'use strict';
// The Node side of scripts/bench/client-vs-node: an HTTP client that sends N GETs through one
// keep-alive http.Agent. Its twin on libhttp is tests/bench/client_bench.cpp; keep the two doing
// exactly the same work.
//
// usage: node scripts/bench/client_bench.js MODE URL N [CONCURRENCY]
//   MODE         sequential: N GETs one after another through one Agent({keepAlive: true}); each
//                  starts on the tick after the previous request's 'close' (emitFreeNT emits
//                  'close' before the socket's 'free', so a request made inside 'close' would find
//                  no free socket and open a new connection). CONCURRENCY, when given, must be 1.
//                concurrent: N GETs in all, CONCURRENCY (default 64) in flight at any time, through
//                  one Agent({keepAlive: true, maxSockets: CONCURRENCY}); each request that closes
//                  starts the next one a tick later, until N were started.
//   URL          e.g. http://127.0.0.1:8080/
//   N            the number of requests (> 0).
//
// Every response body is read to its end (its bytes counted) and every status must be 200; any
// error, any other status, or a request closing before its response ended prints a message on
// stderr and exits 1. Bad usage exits 2.
//
// Prints one JSON line on stdout:
//   {"mode", "requests", "concurrency", "seconds", "startup_seconds", "cpu_seconds", "bytes",
//    "connections"}
//   seconds          process.hrtime.bigint(), from just before the first request is made to the
//                    'end' of the last response.
//   startup_seconds  performance.now() just before the first request: the time since the process
//                    started (performance.timeOrigin), so it includes Node's own start-up, loading
//                    this script and require('http').
//   cpu_seconds      process.cpuUsage() user + system, all threads, over the same interval as
//                    `seconds` only.
//   bytes            the body bytes received, all responses together.
//   connections      how many requests got a new connection (!req.reusedSocket): 1 in sequential
//                    mode, at most CONCURRENCY in concurrent mode, when keep-alive works.
const http = require('http');
const { performance } = require('perf_hooks');

function usage(why) {
  process.stderr.write(`client_bench.js: ${why}\n` +
    'usage: node client_bench.js sequential URL N [1]\n' +
    '       node client_bench.js concurrent URL N [CONCURRENCY]\n');
  process.exit(2);
}

function fail(why) {
  process.stderr.write(`client_bench.js: ${why}\n`);
  process.exit(1);
}

function describe(err) {
  return err.code ? `${err.code} (${err.message})` : err.message;
}

function positiveArg(text, name) {
  if (!/^[0-9]+$/.test(text) || !(Number(text) > 0) || !Number.isSafeInteger(Number(text))) {
    usage(`${name} must be a positive integer, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

const args = process.argv.slice(2);
if (args.length < 3 || args.length > 4) usage('wrong number of arguments');
const [mode, url, totalText, concurrencyText] = args;
if (mode !== 'sequential' && mode !== 'concurrent') usage('MODE must be sequential or concurrent');
const sequential = mode === 'sequential';
const total = positiveArg(totalText, 'N');
let concurrency = sequential ? 1 : 64;
if (concurrencyText !== undefined) concurrency = positiveArg(concurrencyText, 'CONCURRENCY');
if (sequential && concurrency !== 1) usage('CONCURRENCY must be 1 in sequential mode');

// Sequential: maxSockets unlimited (Node's default); concurrent: maxSockets = CONCURRENCY.
const agent = new http.Agent(sequential ? { keepAlive: true } : { keepAlive: true, maxSockets: concurrency });

let started = 0;
let ended = 0;
let connections = 0;
let bytes = 0;
let firstNs = 0n;
let lastNs = 0n;
let cpuFirst = null;
let cpuLast = null;

function startOne() {
  ++started;
  const req = http.get(url, { agent }, (res) => {
    if (res.statusCode !== 200) fail(`status ${res.statusCode}, expected 200`);
    if (!req.reusedSocket) ++connections;
    res.on('data', (chunk) => { bytes += chunk.length; });
    res.on('end', () => {
      if (++ended === total) {
        lastNs = process.hrtime.bigint();
        cpuLast = process.cpuUsage();
        setImmediate(finish);
      }
    });
    res.on('aborted', () => fail('a response was aborted'));
    res.on('error', (err) => fail(`response error: ${describe(err)}`));
  });
  req.on('error', (err) => fail(`request error: ${describe(err)}`));
  req.on('close', () => {
    if (!req.res || !req.res.complete) fail('a request closed before its response was complete');
    if (started < total) {
      process.nextTick(() => {
        if (started < total) startOne();  // several requests may close before a tick ran
      });
    }
  });
}

const startupSeconds = performance.now() / 1000;
firstNs = process.hrtime.bigint();
cpuFirst = process.cpuUsage();
try {
  startOne();
} catch (err) {
  usage(`cannot request ${JSON.stringify(url)}: ${err.message}`);
}
while (started < Math.min(concurrency, total)) startOne();

// The last response ended: print the result and close the pooled sockets (the agent unref()s free
// sockets, so the process would exit anyway; the C++ twin destroys its agent too).
function finish() {
  process.stdout.write(JSON.stringify({
    mode,
    requests: total,
    concurrency,
    seconds: Number(lastNs - firstNs) / 1e9,
    startup_seconds: startupSeconds,
    cpu_seconds: (cpuLast.user + cpuLast.system - cpuFirst.user - cpuFirst.system) / 1e6,
    bytes,
    connections,
  }) + '\n');
  agent.destroy();
}

process.on('exit', (code) => {
  if (code === 0 && ended !== total) {
    process.stderr.write(`client_bench.js: the loop ran out of work after ${ended} of ${total} responses\n`);
    process.exitCode = 1;
  }
});
