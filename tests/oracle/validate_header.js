'use strict';
// Oracle for tests/unit/constants_test.cpp: Node's verdict on header names and values.
// stdin: {"names": [[name, label or null], ...], "values": [[name, value or null], ...]}
//        (a null label is omitted from the call; a null value is passed as undefined)
// stdout: {"names": [verdict, ...], "values": [verdict, ...]}
//         verdict = {"ok": true} or {"code": err.code, "message": err.message}
const http = require('http');

const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));

function verdict(fn) {
  try {
    fn();
    return { ok: true };
  } catch (err) {
    return { code: err.code, message: err.message };
  }
}

process.stdout.write(JSON.stringify({
  names: input.names.map(([name, label]) =>
    verdict(() => (label === null ? http.validateHeaderName(name) : http.validateHeaderName(name, label)))),
  values: input.values.map(([name, value]) =>
    verdict(() => http.validateHeaderValue(name, value === null ? undefined : value))),
}));
