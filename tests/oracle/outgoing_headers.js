'use strict';
// Oracle for tests/unit/headers_test.cpp: runs operation sequences on an OutgoingMessage.
// stdin: [[op, ...], ...], one list of operations per sequence; an op is one of
//   ["set", name, value]       setHeader(name, value)     value: string or array of strings
//   ["append", name, value]    appendHeader(name, value)
//   ["setHeaders", pairs]      setHeaders(map) with the Map a list of [name, value] pairs stands for:
//                              one entry per exact name, several values becoming an array
//   ["get", name]              getHeader(name)
//   ["has", name]              hasHeader(name)
//   ["remove", name]           removeHeader(name)
// stdout: per sequence {"results": [result, ...], "headers": entries of getHeaders(),
//          "names": getHeaderNames(), "raw_names": getRawHeaderNames()}
//   result = {"ok": true} (set, append, setHeaders, remove), {"value": v or null} (get),
//            {"has": bool} (has), or {"code": err.code, "message": err.message}
const http = require('http');

const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));

function toMap(pairs) {
  const map = new Map();
  for (const [name, value] of pairs) {
    if (!map.has(name)) {
      map.set(name, value);
    } else if (Array.isArray(map.get(name))) {
      map.get(name).push(value);
    } else {
      map.set(name, [map.get(name), value]);
    }
  }
  return map;
}

function run(msg, op) {
  switch (op[0]) {
    case 'set': msg.setHeader(op[1], op[2]); return { ok: true };
    case 'append': msg.appendHeader(op[1], op[2]); return { ok: true };
    case 'setHeaders': msg.setHeaders(toMap(op[1])); return { ok: true };
    case 'get': {
      // Copied now: getHeader returns the stored array itself, which later appends would change.
      const value = msg.getHeader(op[1]);
      return { value: value === undefined ? null : (Array.isArray(value) ? [...value] : value) };
    }
    case 'has': return { has: msg.hasHeader(op[1]) };
    case 'remove': msg.removeHeader(op[1]); return { ok: true };
    default: throw new Error(`unknown op ${op[0]}`);
  }
}

process.stdout.write(JSON.stringify(input.map((ops) => {
  const msg = new http.OutgoingMessage();
  const results = ops.map((op) => {
    try {
      return run(msg, op);
    } catch (err) {
      if (!err.code) throw err;
      return { code: err.code, message: err.message };
    }
  });
  return {
    results,
    headers: Object.entries(msg.getHeaders()),
    names: msg.getHeaderNames(),
    raw_names: msg.getRawHeaderNames(),
  };
})));
