// Oracle for tests/unit/encoding_test.cpp: what Node does with string encodings.
//
// stdin: a JSON array of cases, each one of
//   {op: "encode", enc, input}          Buffer.from(text, enc), where text is the JS string that
//                                       TextDecoder (ignoreBOM) makes of the bytes hex `input`
//   {op: "decode", enc, input}          Buffer.from(input, 'hex').toString(enc)
//   {op: "decoder", enc, chunks, end}   a StringDecoder(enc) fed each hex chunk with write(), then
//                                       end(Buffer.from(end, 'hex')) if `end` is given, else end()
//   {op: "name", enc}                   how streams take the encoding name `enc`
// stdout: a JSON array with one result per case, in order:
//   encode  -> {bytes: hex}             decode -> {text}
//   decoder -> {outputs: [text per write..., text of end]}
//   name    -> {encoding} (the normalized name) or {code, message, write_message}
'use strict';

const { StringDecoder } = require('string_decoder');
const { Readable, Writable } = require('stream');
const fs = require('fs');

const textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

function nameResult(enc) {
  const readable = new Readable({ read() {} });
  try {
    readable.setEncoding(enc);
  } catch (e) {
    let writeMessage = null;
    const writable = new Writable({ write(chunk, encoding, cb) { cb(); } });
    try {
      writable.write('x', enc);
    } catch (e2) {
      writeMessage = e2.message;
    }
    return { code: e.code, message: e.message, write_message: writeMessage };
  }
  return { encoding: readable.readableEncoding };
}

function run(c) {
  switch (c.op) {
    case 'encode': {
      const text = textDecoder.decode(Buffer.from(c.input, 'hex'));
      return { bytes: Buffer.from(text, c.enc).toString('hex') };
    }
    case 'decode':
      return { text: Buffer.from(c.input, 'hex').toString(c.enc) };
    case 'decoder': {
      const decoder = new StringDecoder(c.enc);
      const outputs = c.chunks.map((chunk) => decoder.write(Buffer.from(chunk, 'hex')));
      outputs.push(c.end === undefined ? decoder.end() : decoder.end(Buffer.from(c.end, 'hex')));
      return { outputs };
    }
    case 'name':
      return nameResult(c.enc);
    default:
      throw new Error(`unknown op ${c.op}`);
  }
}

const cases = JSON.parse(fs.readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(cases.map(run)));
