'use strict';
// Oracle for tests/unit/headers_test.cpp: what IncomingMessage makes of raw header lists.
// stdin: [[name, value, name, value, ...], ...]
// stdout: [{"headers": entries, "joined": entries, "distinct": entries}, ...]
//         where entries is Object.entries() of message.headers (joinDuplicateHeaders false),
//         message.headers (joinDuplicateHeaders true) and message.headersDistinct, in key order.
const http = require('http');

const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));

function message(raw, join) {
  const m = new http.IncomingMessage(null);
  m.joinDuplicateHeaders = join;
  // What the parser does when the head is complete: rawHeaders and the count the getters read.
  m._addHeaderLines(raw, raw.length);
  return m;
}

process.stdout.write(JSON.stringify(input.map((raw) => ({
  headers: Object.entries(message(raw, false).headers),
  joined: Object.entries(message(raw, true).headers),
  distinct: Object.entries(message(raw, false).headersDistinct),
}))));
