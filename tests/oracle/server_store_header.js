'use strict';
// Oracle for tests/unit/outgoing_message_test.cpp: how Node 20's OutgoingMessage renders a head
// (_storeHeader) from its header table or an explicit raw list, and what it decides about framing
// (chunkedEncoding) and the connection (_last), for messages in given states. No network.
//
// stdin: [{"name": N,
//          "first_line": "HTTP/1.1 200 OK\r\n",
//          "state": {"statusCode": 204, "shouldKeepAlive": true, "useChunkedEncodingByDefault": true,
//                    "_hasBody": true, "_keepAliveTimeout": 5000, "_maxRequestsPerSocket": 3,
//                    "maxRequestsOnConnectionReached": false, "agent": false, "sendDate": false,
//                    "_contentLength": 5, "uniqueHeaders": ["x-u"]},   (every key optional)
//          "ops": [["set", name, value], ["append", name, value], ["remove", name]],
//          "explicit": null or [[name, value], ...]}, ...]
//   value: a string or an array of strings.
// stdout: {N: {"header": _header or null, "chunked": bool, "last": bool, "keepAlive": bool,
//             "error": err.code or null}, ...}
const http = require('http');
const { kUniqueHeaders, parseUniqueHeadersOption } = require('_http_outgoing');

const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = {};
for (const c of input) {
  const msg = new http.OutgoingMessage();
  const state = c.state || {};
  for (const [key, value] of Object.entries(state)) {
    if (key === 'uniqueHeaders') {
      msg[kUniqueHeaders] = parseUniqueHeadersOption(value);
    } else if (key === 'agent') {
      msg.agent = value ? {} : null;
    } else {
      msg[key] = value;
    }
  }
  let error = null;
  try {
    for (const op of c.ops || []) {
      if (op[0] === 'set') msg.setHeader(op[1], op[2]);
      else if (op[0] === 'append') msg.appendHeader(op[1], op[2]);
      else if (op[0] === 'remove') msg.removeHeader(op[1]);
      else throw new Error(`unknown op ${op[0]}`);
    }
    // writeHead's path: the table when something was set, else the explicit list.
    msg._storeHeader(c.first_line, c.explicit || msg[Object.getOwnPropertySymbols(msg)
      .find((s) => String(s) === 'Symbol(kOutHeaders)')] || null);
  } catch (e) {
    error = e.code || e.message;
  }
  out[c.name] = {
    header: msg._header || null,
    chunked: msg.chunkedEncoding,
    last: msg._last,
    keepAlive: msg.shouldKeepAlive,
    error,
  };
}
process.stdout.write(JSON.stringify(out));
