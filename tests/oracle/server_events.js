'use strict';
// Oracle for tests/integration/server_response_test.cpp (ServerEventOrderTest): the order in which
// Node 20's http.Server, IncomingMessage and ServerResponse emit their events in a few scenarios.
// The C++ test runs the same scenarios (same requests, same handler actions) on libhttp and compares
// the logs entry by entry.
//
// stdin: nothing (every scenario) or a JSON array of scenario names.
// stdout: {scenario: [entry, ...], ...}
//
// Only server-side events are logged (the client's own events race with them across the socket).
// Every request gets the same listeners (see watch()); each scenario's handler adds its actions.
// A scenario ends when the server emitted 'close' (the client closes or is closed, then the test
// calls server.close()); the logs are printed once the process has nothing left to do.
const http = require('http');
const net = require('net');

function watch(log, req, res, tag) {
  const t = tag ? ` ${tag}` : '';
  req.on('aborted', () => log.push(`req aborted${t}`));
  req.on('error', (e) => log.push(`req error${t} ${e.code}`));
  req.on('end', () => log.push(`req end${t}`));
  req.on('close', () => log.push(`req close${t}`));
  res.on('prefinish', () => log.push(`res prefinish${t}`));
  res.on('finish', () => log.push(`res finish${t}`));
  res.on('close', () => log.push(`res close${t}`));
  res.on('error', (e) => log.push(`res error${t} ${e.code}`));
}

const SCENARIOS = {
  // The handler reads the body, then answers with end(data, callback); the request said close.
  'respond-after-body': {
    request: 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc',
    handler(log, req, res) {
      req.on('data', (d) => log.push(`req data ${d.length}`));
      req.on('end', () => {
        res.end('hello', () => log.push('end callback'));
        log.push('end returned');
      });
    },
  },
  // Answered at once on a keep-alive connection; the body is never read; the client closes after
  // the response.
  'respond-at-once': {
    request: 'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
    closeAfterResponses: 1,
    handler(log, req, res) {
      res.end('hello');
      log.push('end returned');
    },
  },
  // The client goes away in the middle of the body.
  'client-aborts-mid-body': {
    request: 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc',
    handler(log, req, res, client) {
      req.on('data', (d) => {
        log.push(`req data ${d.length}`);
        client.destroy();
      });
    },
  },
  // checkContinue replaces 'request'; the handler lets the body come.
  'check-continue': {
    request: 'POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\nConnection: close\r\n\r\n',
    event: 'checkContinue',
    handler(log, req, res, client) {
      res.writeContinue(() => log.push('continue written'));
      req.on('data', (d) => log.push(`req data ${d.length}`));
      req.on('end', () => res.end('done'));
      client.once('data', () => client.write('abc'));
    },
  },
  // Two pipelined requests; the first is answered later than the second.
  'pipelined-slow-first': {
    request: 'GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    handler(log, req, res) {
      if (req.url === '/1') {
        setTimeout(() => {
          log.push('answering /1');
          res.end('one');
        }, 50);
      } else {
        res.end('two');
        log.push('answered /2');
      }
    },
  },
  // write() after end(): the callback, then 'error'.
  'write-after-end': {
    request: 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    handler(log, req, res) {
      res.end('x');
      const ret = res.write('y', (e) => log.push(`write callback ${e && e.code}`));
      log.push(`write returned ${ret}`);
    },
  },
  // The handler destroys the response before answering.
  'destroy-response': {
    request: 'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
    handler(log, req, res) {
      res.destroy();
      log.push('destroy returned');
    },
  },
  // The request's body is read to the end before an answer that goes out in two writes.
  'chunked-response': {
    request: 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n'
      + '2\r\nab\r\n1\r\nc\r\n0\r\n\r\n',
    handler(log, req, res) {
      req.on('data', (d) => log.push(`req data ${d.length}`));
      req.on('end', () => {
        res.write('a', () => log.push('write callback'));
        res.end('b', () => log.push('end callback'));
      });
    },
  },
  // maxRequestsPerSocket: the third request is dropped with a 503.
  'drop-request': {
    request: 'GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n',
    maxRequestsPerSocket: 2,
    closeAfterResponses: 3,
    handler(log, req, res) {
      res.end(req.url);
    },
  },
};

function countResponses(text) {
  return (text.match(/HTTP\/1\.1 [2-5]\d\d /g) || []).length;
}

function run(name, s) {
  return new Promise((resolve) => {
    const log = [];
    let client = null;
    const server = http.createServer();
    if (s.maxRequestsPerSocket) server.maxRequestsPerSocket = s.maxRequestsPerSocket;
    server.on(s.event || 'request', (req, res) => {
      log.push(`${s.event || 'request'} ${req.url}`);
      watch(log, req, res, req.url === '/' ? '' : req.url);
      s.handler(log, req, res, client);
    });
    server.on('dropRequest', (req) => log.push(`dropRequest ${req.url}`));
    server.on('close', () => setImmediate(() => resolve([name, log])));
    server.listen(0, '127.0.0.1', () => {
      client = net.connect(server.address().port, '127.0.0.1', () => client.write(s.request));
      let received = '';
      client.on('data', (d) => {
        received += d.toString('latin1');
        if (s.closeAfterResponses && countResponses(received) >= s.closeAfterResponses) client.destroy();
      });
      client.on('error', () => {});
      client.on('close', () => server.close());
    });
  });
}

// stdin may name the scenarios to run (a JSON array); empty stdin runs them all.
const wanted = (() => {
  const text = require('fs').readFileSync(0, 'utf8').trim();
  return text ? new Set(JSON.parse(text)) : null;
})();
const chosen = Object.entries(SCENARIOS).filter(([name]) => !wanted || wanted.has(name));
// The logs are printed when nothing is left to run, so events that follow the server's 'close'
// (a request's 'close' after its socket's) are in them too.
const logs = {};
for (const [name, s] of chosen) run(name, s).then(([n, log]) => { logs[n] = log; });
process.on('exit', () => process.stdout.write(JSON.stringify(logs, null, 1)));
