'use strict';
// Oracle for the client differential test: the reference for `httpx request --format json`.
//
// usage: node tests/oracle/client_request.js METHOD URL [-H 'Name: value']... [-d DATA]
//          [--insecure-http-parser] [--max-header-size N] [--join-duplicate-headers]
//
// Makes one http.request (a fresh agent with keepAlive false, so Node sends `Connection: close`
// and never reuses a socket) and prints one JSON object on stdout:
//   {"request": {"method", "url", "headers"},
//    "response": null | {"httpVersion", "statusCode", "statusMessage", "headers", "rawHeaders",
//                        "trailers", "rawTrailers", "body"},
//    "timings": {"socket", "connect", "firstByte", "response", "end", "done"} (ms since start,
//               each present only if it happened; not compared by the test),
//    "error": null | {"code", "message"}}
// request.method is Node's (upper-cased), request.url the URL as given, request.headers
// req.getHeaders() after end(): what was set (the -H headers and Node's host), not what Node adds
// while writing (Connection, Content-Length). -H values are trimmed; a name repeated in any case
// sends one line per value. -d DATA is sent as UTF-8 with req.end(), so Node frames it with
// Content-Length; no Content-Type is added. The response fields are IncomingMessage's; body is
// every body byte received, decoded as UTF-8, also when the body was cut short. error is the first
// 'error' of the request or the response, also one that comes after the response started or with a
// complete one (stray bytes behind a complete response are a parse error in Node). Only the final
// response is reported, never a 1xx. response and error can both be null: Node drops a 101 upgrade
// nobody listens for without an error.
//
// Exit status: 0 when a complete response arrived ('end' on the response) and no error came with
// it; 1 otherwise (no response, or an error before or after the end: the JSON still holds the
// response, complete or partial); 2 for bad usage (no JSON). After 5 s the exchange is abandoned
// with error {code: "ETIMEDOUT"}, whatever arrived so far is printed, and the exit status is 1.
const http = require('http');
const { performance } = require('perf_hooks');

const TIMEOUT_MS = 5000;

function usage(message) {
  process.stderr.write(`client_request.js: ${message}\n` +
    'usage: node client_request.js METHOD URL [-H \'Name: value\']... [-d DATA] ' +
    '[--insecure-http-parser] [--max-header-size N] [--join-duplicate-headers]\n');
  process.exit(2);
}

function parseArgs(argv) {
  if (argv.length < 2) usage('expected METHOD and URL');
  const args = { method: argv[0], url: argv[1], headers: {}, data: undefined, options: {} };
  for (let i = 2; i < argv.length; ++i) {
    const flag = argv[i];
    if (flag === '-H') {
      const line = argv[++i];
      const colon = line === undefined ? -1 : line.indexOf(':');
      if (colon < 0) usage(`-H needs 'Name: value', got ${JSON.stringify(line)}`);
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      // Keyed case-insensitively so `-H 'X-A: 1' -H 'x-a: 2'` becomes two lines of one header.
      const lower = name.toLowerCase();
      const key = Object.keys(args.headers).find((k) => k.toLowerCase() === lower) ?? name;
      args.headers[key] = key in args.headers ? [].concat(args.headers[key], value) : value;
    } else if (flag === '-d') {
      if (i + 1 >= argv.length) usage('-d needs a value');
      args.data = argv[++i];
    } else if (flag === '--insecure-http-parser') {
      args.options.insecureHTTPParser = true;
    } else if (flag === '--join-duplicate-headers') {
      args.options.joinDuplicateHeaders = true;
    } else if (flag === '--max-header-size') {
      const text = argv[++i];
      if (text === undefined || !/^[0-9]+$/.test(text)) {
        usage(`--max-header-size needs a non-negative integer, got ${JSON.stringify(text)}`);
      }
      args.options.maxHeaderSize = Number(text);
    } else {
      usage(`unknown argument ${JSON.stringify(flag)}`);
    }
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const start = performance.now();
const since = () => Math.round((performance.now() - start) * 1000) / 1000;

const out = {
  request: { method: args.method, url: args.url, headers: {} },
  response: null,
  timings: {},
  error: null,
};
let complete = false;
let printed = false;
let res = null;
const chunks = [];

function fail(err) {
  if (!out.error) out.error = { code: err.code ?? null, message: err.message };
}

function print() {
  if (printed) return;
  printed = true;
  clearTimeout(timer);
  if (res) {
    // Read at the end, not at 'response': trailers are only filled in when the message completes,
    // and a cut-off exchange (error or timeout) still reports the part of the body it got.
    out.response.trailers = res.trailers;
    out.response.rawTrailers = res.rawTrailers;
    out.response.body = Buffer.concat(chunks).toString('utf8');
  }
  out.timings.done = since();
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exitCode = complete && !out.error ? 0 : 1;
}

const timer = setTimeout(() => {
  fail({ code: 'ETIMEDOUT', message: `no complete exchange within ${TIMEOUT_MS} ms` });
  print();
  process.exit(1);
}, TIMEOUT_MS);

let req;
try {
  req = http.request(args.url, {
    method: args.method,
    headers: args.headers,
    agent: new http.Agent({ keepAlive: false }),
    ...args.options,
  });
} catch (err) {
  // Node rejects a bad method, URL or header before any I/O; that is this exchange's error too.
  fail(err);
  print();
}

if (req) {
  out.request.method = req.method;
  let reqClosed = false;
  let resClosed = false;
  // Both 'close' events are awaited: the request's comes first when the socket dies mid-body,
  // and the response's 'error' (ECONNRESET 'aborted') only follows it.
  const maybeDone = () => {
    if (reqClosed && (res === null || resClosed)) setImmediate(print);
  };

  req.on('socket', (socket) => {
    out.timings.socket = since();
    socket.once('connect', () => { out.timings.connect = since(); });
    // Prepended: Node's own 'data' listener parses (and may emit 'response') before ours runs.
    socket.prependOnceListener('data', () => { out.timings.firstByte = since(); });
  });
  req.on('error', fail);
  req.on('close', () => { reqClosed = true; maybeDone(); });
  req.on('response', (response) => {
    res = response;
    out.timings.response = since();
    out.response = {
      httpVersion: res.httpVersion,
      statusCode: res.statusCode,
      statusMessage: res.statusMessage,
      headers: res.headers,
      rawHeaders: res.rawHeaders,
      trailers: {},
      rawTrailers: [],
      body: '',
    };
    res.on('data', (chunk) => chunks.push(chunk));
    res.on('end', () => {
      complete = true;
      out.timings.end = since();
    });
    res.on('error', fail);
    res.on('close', () => { resClosed = true; maybeDone(); });
  });

  if (args.data === undefined) req.end();
  else req.end(args.data);
  out.request.headers = req.getHeaders();
}
