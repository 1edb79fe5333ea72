// Captures the Engine.IO golden vectors in this directory from the real
// engine.io-parser package. Run from a scratch directory outside the repo:
//
//   mkdir -p /tmp/ref && cd /tmp/ref && npm install engine.io-parser@5.2.3
//   NODE_PATH=/tmp/ref/node_modules node /path/to/internal/engineio/testdata/capture.js /path/to/internal/engineio/testdata
//
// Output files (JSON, strings are the UTF-8 text; binary is base64):
//   packets.json  - {text, binary:false}|{b64, binary:true} -> decodePacket result
//                   and the re-encoding (encodePacket with and without binary support)
//   payloads.json - polling payload -> decodePayload result; encodePayload of that result
//   base64.json   - Buffer.from(s, "base64") for hand-written and random strings
//   payloads_fuzz.json - like payloads.json for the strings in fuzz_inputs.json
//                   (inputs the Go fuzzers found interesting)
const fs = require("fs");
const path = require("path");
const parser = require("engine.io-parser");
const out = process.argv[2] || ".";

function show(p) {
  if (p.type === "error") return { error: p.data };
  if (Buffer.isBuffer(p.data)) return { type: p.type, b64: p.data.toString("base64"), binary: true };
  return p.data === undefined ? { type: p.type } : { type: p.type, data: p.data };
}
function enc(p, supportsBinary) {
  let r;
  parser.encodePacket(p, supportsBinary, (e) => (r = e));
  return Buffer.isBuffer(r) ? { b64: r.toString("base64"), binary: true } : { text: r };
}

// deterministic PRNG so re-captures are stable
let seed = 42;
const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
const pick = (s) => { const a = Array.from(s); return a[Math.floor(rnd() * a.length)]; }; // whole code points, no lone surrogates
function randStr(alpha, max) {
  const n = Math.floor(rnd() * max);
  let s = "";
  for (let i = 0; i < n; i++) s += pick(alpha);
  return s;
}

const texts = [
  "0", "1", "2", "3", "4", "5", "6", "7", "9", "a", "", "b", "bAQID", "bAQIDBA==", "b-_8",
  "2probe", "3probe", "4hello", "4", "6", "1", "40", "42[\"a\"]", "4é€😀", " 4", "B", "\u00004",
  '0{"sid":"OINQgpWBAU4MaTveAAAA","upgrades":["websocket"],"pingInterval":300000,"pingTimeout":200000,"maxPayload":1000000}',
];
const packets = [];
for (const t of texts) {
  const d = parser.decodePacket(t);
  const rec = { text: t, binary: false, decoded: show(d) };
  if (d.type !== "error") { rec.encodedBinary = enc(d, true); rec.encodedText = enc(d, false); }
  packets.push(rec);
}
for (const b of [[], [1, 2, 3], [0xff, 0, 0x1e]]) {
  const buf = Buffer.from(b);
  const d = parser.decodePacket(buf);
  packets.push({ b64: buf.toString("base64"), binary: true, decoded: show(d), encodedBinary: enc(d, true), encodedText: enc(d, false) });
}
fs.writeFileSync(path.join(out, "packets.json"), JSON.stringify(packets, null, 1) + "\n");

const payloads = [
  "4hello", "4test1\x1e4test2\x1e4test3", "4hello\x1ebAQIDBA==", "", "\x1e", "4a\x1e", "4a\x1ex\x1e4b",
  "2\x1e3\x1e6", "6\x1e1", '451-["bin-back",{"_placeholder":true,"num":0}]\x1ebAQID', "b\x1eb", "4é\x1e4€",
  '44/nope,{"message":"Invalid namespace"}\x1e42["message-back",1,"é",{"a":null}]\x1e452-["bin-back",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}}]\x1ebAQID\x1ebBA==\x1e461-12[7,{"_placeholder":true,"num":0}]\x1ebCQ==\x1e44/secure,{"message":"not authorized","data":{"code":42}}',
];
for (let i = 0; i < 200; i++) payloads.push(randStr("0123456789bA=\x1e\x1e4x", 12));
const decodeRec = (s) => {
  const d = parser.decodePayload(s);
  const rec = { text: s, decoded: d.map(show) };
  if (!d.some((p) => p.type === "error")) parser.encodePayload(d, (e) => (rec.encoded = e));
  return rec;
};
fs.writeFileSync(path.join(out, "payloads.json"), JSON.stringify(payloads.map(decodeRec), null, 1) + "\n");
const fuzzIn = path.join(out, "fuzz_inputs.json");
if (fs.existsSync(fuzzIn)) {
  const recs = JSON.parse(fs.readFileSync(fuzzIn, "utf8")).map(decodeRec);
  fs.writeFileSync(path.join(out, "payloads_fuzz.json"), JSON.stringify(recs, null, 1) + "\n");
}

const b64in = [
  "AQID", "AQIDBA==", "AQIDBA", "AQIDBA=", "AQ ID", "AQ*ID", "AQ=ID", "-_-_", "+/+/", "A", "AB", "ABC",
  "AQID=junk", "AQ==AQ==", "", "AQ\nID", "éAQID", "AQIDB", "AQIDBA===", "=AQID", "AQ=", "AQ==x",
  "ŁŁŁŁ", "AŁAA", "AAAAĀ", "㴀AAA", "AĽAA", "😀AAAA", "AA😀AA", "A\u0100\u0141\u017a",
];
const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_= \n*éŁĽ€😀\u0100\u013d\u3d00";
for (let i = 0; i < 500; i++) b64in.push(randStr(alpha, 16));
const b64 = b64in.map((s) => ({ text: s, hex: Buffer.from(s, "base64").toString("hex") }));
fs.writeFileSync(path.join(out, "base64.json"), JSON.stringify(b64, null, 1) + "\n");
