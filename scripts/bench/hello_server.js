'use strict';
// The Node side of scripts/bench/server-vs-node: a hello-world HTTP server. Its twin on libhttp is
// tests/bench/hello_server.cpp; keep the two doing exactly the same work.
//
// usage: node scripts/bench/hello_server.js [PORT [KEEP_ALIVE_TIMEOUT_MS]]
//   PORT                   0 (the default) picks a free port.
//   KEEP_ALIVE_TIMEOUT_MS  server.keepAliveTimeout; 5000 is Node's default, 0 disables it
//                          (idle keep-alive connections then stay open).
//
// Listens on 127.0.0.1 and prints the bound port, alone on one line, on stdout once listening.
// Every request gets 200 with `Content-Type: text/plain` and `Hello, World!\n` (Node adds
// Content-Length, Date and Connection/Keep-Alive). Runs until killed. Bad usage exits 2.
const http = require('http');

function numberArg(index, name, fallback, max) {
  const text = process.argv[index];
  if (text === undefined) return fallback;
  if (!/^[0-9]+$/.test(text) || Number(text) > max) {
    process.stderr.write(`hello_server.js: ${name} must be an integer in [0, ${max}], got ${JSON.stringify(text)}\n`);
    process.exit(2);
  }
  return Number(text);
}

const port = numberArg(2, 'PORT', 0, 65535);
const keepAliveTimeout = numberArg(3, 'KEEP_ALIVE_TIMEOUT_MS', 5000, 2 ** 31 - 1);

const server = http.createServer((req, res) => {
  res.setHeader('Content-Type', 'text/plain');
  res.end('Hello, World!\n');
});
server.keepAliveTimeout = keepAliveTimeout;

server.on('error', (err) => {
  process.stderr.write(`hello_server.js: ${err.code || ''} ${err.message}\n`);
  process.exit(1);
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
