'use strict';
// Oracle for tests/integration/echo_differential_test.cpp: the reference for `httpx serve --echo`.
//
// usage: node tests/oracle/echo_server.js [--host H] [--port P] [--keep-alive-timeout MS]
//          [--headers-timeout MS] [--request-timeout MS] [--max-header-size BYTES]
//          [--max-requests-per-socket N] [--insecure-http-parser] [--join-duplicate-headers]
//          [--no-require-host-header]
//
// Answers every request with 200, `Content-Type: application/json` and one JSON object holding what
// IncomingMessage saw: {method, url, httpVersion, headers, rawHeaders, trailers, rawTrailers, body},
// sent with res.end(json) after the request's 'end', so framing, Date and Connection/Keep-Alive are
// Node's defaults. The first stderr line is `listening on http://HOST:PORT` (the real port, also
// for --port 0). SIGINT/SIGTERM close the server gracefully and exit 0. Bad usage exits 2.
const http = require('http');

function usage(message) {
  process.stderr.write(`echo_server.js: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const args = { host: '127.0.0.1', port: 8080, options: {}, properties: {} };
  // Flags that take a non-negative integer, and the createServer option each one sets.
  const numeric = {
    '--port': null,
    '--keep-alive-timeout': 'keepAliveTimeout',
    '--headers-timeout': 'headersTimeout',
    '--request-timeout': 'requestTimeout',
    '--max-header-size': 'maxHeaderSize',
    '--max-requests-per-socket': 'maxRequestsPerSocket',
  };
  for (let i = 0; i < argv.length; ++i) {
    const flag = argv[i];
    if (flag === '--host') {
      if (i + 1 >= argv.length) usage('--host needs a value');
      args.host = argv[++i];
    } else if (flag in numeric) {
      const text = argv[++i];
      if (text === undefined || !/^[0-9]+$/.test(text)) {
        usage(`${flag} needs a non-negative integer, got ${JSON.stringify(text)}`);
      }
      const value = Number(text);
      if (flag === '--port') {
        if (value > 65535) usage(`--port must be at most 65535, got ${value}`);
        args.port = value;
      } else {
        args.options[numeric[flag]] = value;
      }
    } else if (flag === '--insecure-http-parser') {
      args.options.insecureHTTPParser = true;
    } else if (flag === '--join-duplicate-headers') {
      args.options.joinDuplicateHeaders = true;
    } else if (flag === '--no-require-host-header') {
      args.options.requireHostHeader = false;
    } else {
      usage(`unknown argument ${JSON.stringify(flag)}`);
    }
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));

const server = http.createServer(args.options, (req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const json = JSON.stringify({
      method: req.method,
      url: req.url,
      httpVersion: req.httpVersion,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      trailers: req.trailers,
      rawTrailers: req.rawTrailers,
      body: Buffer.concat(chunks).toString('utf8'),
    });
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/json');
    res.end(json);
  });
});

// Some of these are server properties rather than createServer options in some Node versions;
// setting the property as well makes the flag mean the same on every Node 20 release.
for (const name of ['keepAliveTimeout', 'headersTimeout', 'requestTimeout', 'maxRequestsPerSocket']) {
  if (name in args.options) server[name] = args.options[name];
}

server.on('error', (err) => {
  process.stderr.write(`echo_server.js: ${err.code || ''} ${err.message}\n`);
  process.exit(1);
});

server.listen(args.port, args.host, () => {
  const { address, port } = server.address();
  const host = address.includes(':') ? `[${address}]` : address;
  process.stderr.write(`listening on http://${host}:${port}\n`);
});

function shutdown() {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
