'use strict';
// Oracle for tests/integration/http_server_test.cpp (ServerWireTest): the bytes Node 20's http.Server
// answers to raw requests, for the same handlers the C++ test installs on libhttp's server.
//
// stdin: [{"name": N, "request": BYTES, "options": {createServer options}}, ...] (BYTES are ASCII)
// stdout: {N: {"received": BYTES, "closed": bool}, ...}
//
// Every case gets its own server on 127.0.0.1 port 0 and one client connection that writes the
// request bytes at once, then records everything until the server closes the connection
// ("closed": true) or it stays silent for IDLE_MS (+ CONFIRM_MS) ("closed": false). All cases run
// concurrently.
// The handlers are chosen by the request path (see HANDLERS; the C++ test has the same table).
const http = require('http');
const net = require('net');

const IDLE_MS = 250;
const CONFIRM_MS = 50;

const HANDLERS = {
  '/end': (req, res) => res.end('hello'),
  '/write-end': (req, res) => { res.write('hel'); res.end('lo'); },
  '/empty': (req, res) => res.end(),
  '/204': (req, res) => { res.statusCode = 204; res.end('dropped'); },
  '/304': (req, res) => { res.statusCode = 304; res.write('dropped'); res.end(); },
  '/length': (req, res) => { res.setHeader('Content-Length', 5); res.write('hel'); res.end('lo'); },
  '/trailers': (req, res) => {
    res.writeHead(200, { Trailer: 'X-Sum' });
    res.write('abc');
    res.addTrailers([['X-Sum', '6'], ['X-More', 'yes']]);
    res.end();
  },
  '/trailers-length': (req, res) => {
    res.setHeader('Content-Length', '3');
    res.addTrailers([['X-Sum', '6']]);
    res.end('abc');
  },
  '/close': (req, res) => { res.setHeader('Connection', 'close'); res.end('bye'); },
  '/slow': (req, res) => setTimeout(() => res.end('slow'), 100),
  '/echo': (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const trailers = Object.entries(req.trailers).map(([k, v]) => `${k}=${v}`).join(';');
      res.end(`${Buffer.concat(chunks).toString('latin1')}|${trailers}`);
    });
  },
  '/headers': (req, res) => {
    res.end(Object.entries(req.headers).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : v}`).join('\n'));
  },
  '/raw-headers': (req, res) => { res.writeHead(200, ['X-A', '1', 'X-A', '2', 'x-b', '3']); res.end('r'); },
  '/merge': (req, res) => {
    res.setHeader('X-Set', 'set');
    res.setHeader('X-Keep', 'keep');
    res.writeHead(201, 'Made', { 'X-Set': 'over', 'X-New': 'new' });
    res.end('m');
  },
  '/status-message': (req, res) => { res.statusCode = 299; res.statusMessage = 'Fine'; res.end(); },
  '/interim': (req, res) => {
    res.writeEarlyHints({ link: '</a.css>; rel=preload; as=style' });
    res.writeProcessing();
    res.end('x');
  },
  '/no-date': (req, res) => { res.sendDate = false; res.end('x'); },
  '/unique': (req, res) => {
    res.setHeader('X-U', ['a', 'b']);
    res.setHeader('X-N', ['c', 'd']);
    res.end('u');
  },
  '/remove': (req, res) => {
    res.removeHeader('Content-Length');
    res.removeHeader('Transfer-Encoding');
    res.write('until ');
    res.end('close');
  },
};

function runCase(c) {
  return new Promise((resolve) => {
    const server = http.createServer(c.options || {}, (req, res) => {
      const path = req.url.split('?')[0];
      (HANDLERS[path] || ((rq, rs) => { rs.statusCode = 404; rs.end(); }))(req, res);
    });
    // Node 20 reads these from the instance; set them there too, as the echo oracle does.
    for (const name of ['keepAliveTimeout', 'maxRequestsPerSocket']) {
      if (c.options && name in c.options) server[name] = c.options[name];
    }
    server.listen(0, '127.0.0.1', () => {
      const socket = net.connect(server.address().port, '127.0.0.1');
      let received = '';
      let closed = false;
      let timer = null;
      let finished = false;
      const done = () => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        socket.destroy();
        server.close();
        server.closeAllConnections();
        resolve([c.name, { received, closed }]);
      };
      // Silence is confirmed by a second, short timer: when the process was descheduled for a while,
      // timers come due before the I/O that arrived meanwhile (a close) is seen.
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => { timer = setTimeout(done, CONFIRM_MS); }, IDLE_MS);
      };
      socket.on('data', (d) => { received += d.toString('latin1'); arm(); });
      socket.on('error', () => {});
      socket.on('close', () => { closed = true; done(); });
      socket.write(Buffer.from(c.request, 'latin1'));
      arm();
    });
  });
}

const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
Promise.all(cases.map(runCase)).then((results) => {
  process.stdout.write(JSON.stringify(Object.fromEntries(results)));
});
