'use strict';
// Oracle for tests/unit/constants_test.cpp: prints Node's http constants and what
// http.setMaxIdleHTTPParsers does with each number of the input.
// stdin: {"max_idle": [number, ...]}
// stdout: {"methods": [...], "status_codes": [[code, text], ...], "max_header_size": n,
//          "default_max_idle": n (the idle-parser limit before any call),
//          "max_idle": [{"ok": true, "limit": n} | {"code": c, "message": m, "limit": n}, ...]}
const http = require('http');
const common = require('_http_common');

const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
// Read before any call changes it.
const defaultMaxIdle = common.parsers.max;

const maxIdle = input.max_idle.map((max) => {
  try {
    http.setMaxIdleHTTPParsers(max);
    return { ok: true, limit: common.parsers.max };
  } catch (err) {
    return { code: err.code, message: err.message, limit: common.parsers.max };
  }
});

process.stdout.write(JSON.stringify({
  methods: http.METHODS,
  status_codes: Object.entries(http.STATUS_CODES).map(([code, text]) => [Number(code), text]),
  max_header_size: http.maxHeaderSize,
  default_max_idle: defaultMaxIdle,
  max_idle: maxIdle,
}));
