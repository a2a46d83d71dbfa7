'use strict';
// Scripted raw HTTP server for the client differential test (tests/oracle/client_cases.json):
// both Node's client (client_request.js) and `httpx request` are pointed at it, so every case must
// produce the same bytes on the wire no matter which client asks.
//
// usage: node tests/oracle/canned_server.js CASES_JSON
//
// Listens on 127.0.0.1 port 0; the first stderr line is `listening on http://127.0.0.1:PORT`.
// A connection's first request line picks the case: `METHOD /case/<name> HTTP/1.x` (anything else,
// or an unknown name, gets a raw 404 and a close). The request head is read from the raw bytes,
// then the body when it has a Content-Length, then the case's script runs on the socket. A script
// containing {"waitRequest": true} starts right after the head instead, and that step waits for the
// body: this lets a case answer `100 Continue` before a client that holds its body back for it.
//
// Script steps (run in order, each finished before the next starts):
//   {"send": STRING}                    write STRING's char codes as bytes (latin1: \u0000-\u00ff
//                                       reach the wire unchanged, anything above is a case error)
//   {"sendRepeat": STRING, "count": N}  write STRING N times (large bodies without huge JSON)
//   {"delayMs": N}                      wait N ms (lets the client see a write on its own)
//   {"end": true}                       half-close (FIN); the socket closes once the client does
//   {"destroy": true}                   close the socket
//   {"reset": true}                     close with RST (socket.resetAndDestroy())
//   {"waitRequest": true}               wait until the request body (Content-Length) has arrived
// A script that ends without closing leaves the connection to the client. Every connection is
// destroyed 5 s after it was accepted at the latest, so a stuck client cannot hold the server.
// Connections are served concurrently until SIGINT/SIGTERM, which exit 0. Bad usage exits 2.
const fs = require('fs');
const net = require('net');

const CONNECTION_LIMIT_MS = 5000;
// A request head larger than this is not a client under test doing something sensible.
const MAX_HEAD_BYTES = 64 * 1024;
const NOT_FOUND = 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';
const STEP_KINDS = ['send', 'sendRepeat', 'delayMs', 'end', 'destroy', 'reset', 'waitRequest'];

function usage(message) {
  process.stderr.write(`canned_server.js: ${message}\nusage: node canned_server.js CASES_JSON\n`);
  process.exit(2);
}

function loadCases(file) {
  let list;
  try {
    list = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    usage(`cannot read ${file}: ${err.message}`);
  }
  if (!Array.isArray(list)) usage(`${file} must hold a JSON array of cases`);
  const cases = new Map();
  for (const c of list) {
    if (typeof c?.name !== 'string' || cases.has(c.name)) {
      usage(`bad or duplicate case name ${JSON.stringify(c?.name)}`);
    }
    if (!Array.isArray(c.script)) usage(`case ${c.name} has no script`);
    // Checking here turns a typo in the case file into a usage error instead of a silent hang.
    for (const step of c.script) {
      const isObject = step !== null && typeof step === 'object';
      const kind = isObject ? STEP_KINDS.find((k) => k in step) : undefined;
      if (kind === undefined) usage(`case ${c.name}: unknown step ${JSON.stringify(step)}`);
      const text = step.send ?? step.sendRepeat;
      if (text !== undefined && (typeof text !== 'string' || /[^\u0000-\u00ff]/.test(text))) {
        usage(`case ${c.name}: a send step must be a string of chars up to \\u00ff`);
      }
      const number = kind === 'sendRepeat' ? step.count : step.delayMs;
      const counted = kind === 'sendRepeat' || kind === 'delayMs';
      if (counted && !(Number.isInteger(number) && number >= 0)) {
        usage(`case ${c.name}: ${JSON.stringify(step)} needs a non-negative integer`);
      }
    }
    cases.set(c.name, c);
  }
  return cases;
}

// Parses a complete request head (without its final CRLF CRLF). Only what the server needs: the
// path picks the case, the Content-Length says how many body bytes to wait for.
function parseHead(head) {
  const lines = head.split('\r\n');
  const [, target] = lines[0].split(' ');
  let contentLength = 0;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === 'content-length') {
      contentLength = Number(line.slice(colon + 1).trim()) || 0;
    }
  }
  const match = /^\/case\/([^?#]*)/.exec(target || '');
  let name = null;
  try {
    name = match ? decodeURIComponent(match[1]) : null;
  } catch {
    // A malformed %-escape names no case: the client gets the 404.
  }
  return { name, contentLength };
}

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Waits for the write to reach the kernel, so a following reset cannot drop bytes still queued in
// Node, and a delay separates writes on the wire the way the case means.
const write = (socket, text) => new Promise((resolve) => {
  socket.write(Buffer.from(text, 'latin1'), () => resolve());
});

async function runScript(socket, script, bodyArrived) {
  for (const step of script) {
    if (socket.destroyed) return;
    if ('send' in step) await write(socket, step.send);
    else if ('sendRepeat' in step) await write(socket, step.sendRepeat.repeat(step.count));
    else if ('delayMs' in step) await delay(step.delayMs);
    else if ('waitRequest' in step) await bodyArrived;
    else if ('end' in step) socket.end();
    else if ('destroy' in step) socket.destroy();
    else if ('reset' in step) socket.resetAndDestroy();
  }
}

function serve(cases, socket) {
  const limit = setTimeout(() => socket.destroy(), CONNECTION_LIMIT_MS);
  socket.on('close', () => clearTimeout(limit));
  // Peer resets are part of the game (a client giving up on a bad response); nothing to report.
  socket.on('error', () => {});

  let buffered = Buffer.alloc(0);
  let request = null; // {name, contentLength} once the head is in
  let bodyBytes = 0;
  let markBodyArrived;
  const bodyArrived = new Promise((resolve) => { markBodyArrived = resolve; });

  // Keeps reading for the whole connection: unread bytes in the kernel buffer would turn our
  // close into an RST, and the cases choose between FIN and RST themselves.
  socket.on('data', (chunk) => {
    if (request) {
      bodyBytes += chunk.length;
      if (bodyBytes >= request.contentLength) markBodyArrived();
      return;
    }
    buffered = Buffer.concat([buffered, chunk]);
    const headEnd = buffered.indexOf('\r\n\r\n');
    if (headEnd < 0) {
      if (buffered.length > MAX_HEAD_BYTES) socket.destroy();
      return;
    }
    request = parseHead(buffered.subarray(0, headEnd).toString('latin1'));
    bodyBytes = buffered.length - headEnd - 4;
    buffered = null;
    if (bodyBytes >= request.contentLength) markBodyArrived();

    const c = cases.get(request.name);
    if (!c) {
      socket.end(NOT_FOUND);
      return;
    }
    const startAfterHead = c.script.some((step) => 'waitRequest' in step);
    (startAfterHead ? Promise.resolve() : bodyArrived)
      .then(() => runScript(socket, c.script, bodyArrived))
      .catch((err) => {
        process.stderr.write(`canned_server.js: case ${c.name}: ${err.message}\n`);
        socket.destroy();
      });
  });
}

const args = process.argv.slice(2);
if (args.length !== 1) usage('expected exactly one argument');
const cases = loadCases(args[0]);

const sockets = new Set();
const server = net.createServer((socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
  serve(cases, socket);
});

server.on('error', (err) => {
  process.stderr.write(`canned_server.js: ${err.code || ''} ${err.message}\n`);
  process.exit(1);
});

server.listen(0, '127.0.0.1', () => {
  process.stderr.write(`listening on http://127.0.0.1:${server.address().port}\n`);
});

function shutdown() {
  server.close();
  for (const socket of sockets) socket.destroy();
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
