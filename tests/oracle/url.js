'use strict';
// Oracle for tests/unit/url_test.cpp: how Node parses URLs and merges them with request options.
//
// stdin: a JSON array. Each item is either
//   - a string: parsed with `new URL(s)`; prints its fields and `urlToHttpOptions`' view of it,
//     or { error: code } when `new URL()` throws;
//   - an object { hostnameOf }: prints just { hostname } of `new URL(hostnameOf)`, or { error };
//     the compact form for sweeps over many inputs;
//   - an object { url, options }: prints `Object.assign(urlToHttpOptions(new URL(url)), options)`
//     (what ClientRequest does) and what a real ClientRequest made from (url, options) reports,
//     without any network: the request gets a PassThrough stream as its socket and is destroyed.
// stdout: a JSON array with one result per item, in order.

const http = require('http');
const { PassThrough } = require('stream');
const { urlToHttpOptions } = require('url');

function errorCode(e) {
  return e.code || e.name;
}

function httpView(options) {
  return {
    protocol: options.protocol,
    host: options.host === undefined ? null : options.host,
    hostname: options.hostname === undefined ? null : options.hostname,
    port: options.port === undefined ? null : options.port,
    path: options.path === undefined ? null : options.path,
    auth: options.auth === undefined ? null : options.auth,
    method: options.method === undefined ? null : options.method,
  };
}

function parse(input) {
  let url;
  try {
    url = new URL(input);
  } catch (e) {
    return { error: errorCode(e) };
  }
  const result = {
    href: url.href,
    protocol: url.protocol,
    username: url.username,
    password: url.password,
    host: url.host,
    hostname: url.hostname,
    port: url.port,
    pathname: url.pathname,
    search: url.search,
    hash: url.hash,
  };
  try {
    result.http = httpView(urlToHttpOptions(url));
  } catch (e) {
    result.http = { error: errorCode(e) };
  }
  return result;
}

function hostnameOf(input) {
  try {
    return { hostname: new URL(input).hostname };
  } catch (e) {
    return { error: errorCode(e) };
  }
}

function merge({ url, options }) {
  const result = {};
  try {
    result.merged = httpView(Object.assign(urlToHttpOptions(new URL(url)), options));
  } catch (e) {
    result.merged = { error: errorCode(e) };
  }
  try {
    const req = http.request(url, {
      ...options,
      agent: false,
      createConnection: () => new PassThrough(),
    });
    req.on('error', () => {});
    result.request = {
      host: req.host,
      path: req.path,
      method: req.method,
      protocol: req.protocol,
      hostHeader: req.getHeader('host') === undefined ? null : req.getHeader('host'),
      authorization: req.getHeader('authorization') === undefined ? null : req.getHeader('authorization'),
    };
    req.destroy();
  } catch (e) {
    result.request = { error: errorCode(e) };
  }
  return result;
}

const chunks = [];
process.stdin.on('data', (chunk) => chunks.push(chunk));
process.stdin.on('end', () => {
  const items = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const results = items.map((item) => {
    if (typeof item === 'string') return parse(item);
    if ('hostnameOf' in item) return hostnameOf(item.hostnameOf);
    return merge(item);
  });
  process.stdout.write(JSON.stringify(results));
});
