// Captures the Socket.IO golden vectors in this directory from the real
// socket.io-parser package. Run from a scratch directory outside the repo:
//
//   mkdir -p /tmp/ref && cd /tmp/ref && npm install socket.io-parser@4.2.7
//   NODE_PATH=/tmp/ref/node_modules node /path/to/internal/socketio/testdata/capture.js /path/to/internal/socketio/testdata
//
// Output files (JSON; text messages as strings, binary messages as hex):
//   decode.json  - sequences of Engine.IO messages fed to one Decoder -> the
//                  packets it emitted and the error it threw (feeding stops
//                  at the first error, as socket.io closes the connection)
//   encode.json  - packets -> Encoder.encode output
//   strings.json - strings -> JSON.stringify output
//   decode_fuzz.json - like decode.json for the message sequences in
//                  fuzz_inputs.json (inputs the Go fuzzer found interesting)
const fs = require("fs");
const path = require("path");
const { Encoder, Decoder } = require("socket.io-parser");
// binary.js is not in the package "exports"; load it by file path.
const { deconstructPacket } = require(path.join(path.dirname(require.resolve("socket.io-parser")), "binary.js"));
const out = process.argv[2] || ".";

let seed = 7;
const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
const pick = (a) => a[Math.floor(rnd() * a.length)];

// ---- decode ----
function runDecode(msgs, maxAttachments) {
  const d = new Decoder(maxAttachments === undefined ? undefined : { maxAttachments });
  const packets = [];
  d.on("decoded", (p) => {
    const bufs = [];
    let data, tooDeep = false;
    try {
      data = p.data === undefined ? undefined : JSON.stringify(p.data, function (k, v) {
        const o = this[k];
        if (Buffer.isBuffer(o)) {
          let i = bufs.indexOf(o);
          if (i < 0) { bufs.push(o); i = bufs.length - 1; }
          return { _buf: o.toString("hex") };
        }
        return v;
      });
    } catch (e) {
      tooDeep = true; // our JSON.stringify with a replacer overflows on very deep data; the decoder did not
    }
    const rec = { type: p.type, nsp: p.nsp };
    if (tooDeep) rec.dataTooDeep = true;
    if ("id" in p) rec.id = Number.isNaN(p.id) ? "NaN" : p.id;
    if (data !== undefined) rec.data = data;
    packets.push(rec);
  });
  let error;
  for (const m of msgs) {
    try {
      d.add(typeof m === "string" ? m : Buffer.from(m.hex, "hex"));
    } catch (e) {
      error = e.message;
      break;
    }
  }
  const r = { msgs, packets };
  if (maxAttachments !== undefined) r.maxAttachments = maxAttachments;
  if (error !== undefined) r.error = error;
  if (!error && d.reconstructor) {
    r.pending = true;
    const id = d.reconstructor.reconPack.id;
    if (id !== undefined) r.pendingId = Number.isNaN(id) ? "NaN" : id;
  }
  return r;
}
const B = (hex) => ({ hex });
const seqs = [
  // wire-format.md §2.2 / §2.5 / §2.7 / §7 examples
  ["0"], ["0/admin,{\"sid\":\"abc\"}"], ["1/admin,"], ["2[\"foo\"]"], ["2/admin,13[\"bar\"]"], ["3/admin,13[\"bar\"]"],
  ["4{\"message\":\"Not authorized\"}"], ["51-[\"baz\",{\"_placeholder\":true,\"num\":0}]", B("010203")],
  ["61-15[\"bar\",{\"_placeholder\":true,\"num\":0}]", B("")],
  ["52-[\"bin-back\",{\"_placeholder\":true,\"num\":0},{\"x\":{\"_placeholder\":true,\"num\":1}}]", B("010203"), B("04")],
  ["3456[1,\"2\",{\"3\":[false]}]"], ["62-789[{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]", B("01"), B("02")],
  ["abc"], ["2{}"], ["2abc[\"a\"]"], ["2"], ["0/custom"], ["0/custom,"], ["2[42,\"x\"]"], ["2[]"], ["2[\"disconnect\"]"],
  ["0[]"], ["1{}"], ["1/x,{}"], ["4\"oops\""], ["4[]"], ["3{}"], ["3[]"], ["7"], ["9"], ["-"], ["51[]"], ["5-[]"], ["50-[\"a\"]"],
  ["511-[\"a\"]"], ["510-[\"a\"]", B("00"), B("01"), B("02"), B("03"), B("04"), B("05"), B("06"), B("07"), B("08"), B("09")],
  ["51-[\"a\"]", "2[\"b\"]"], [B("00")], ["51-[\"a\",{\"_placeholder\":true,\"num\":1}]", B("00")],
  ["51-[\"a\",{\"_placeholder\":true,\"num\":-1}]", B("00")], ["51-[\"a\",{\"_placeholder\":true,\"num\":\"0\"}]", B("00")],
  ["51-[\"a\",{\"_placeholder\":true}]", B("00")], ["51-[\"a\",{\"_placeholder\":\"true\",\"num\":9}]", B("00")],
  ["51-[\"a\",{\"_placeholder\":true,\"num\":0,\"_placeholder\":false,\"num\":7}]", B("00")],
  ["51-[\"a\",{\"_placeholder\":false,\"_placeholder\":true,\"num\":7,\"num\":0}]", B("00")],
  ["51-[\"a\",{\"\\u005fplaceholder\":true,\"num\":3}]", B("00")],
  ["52-[\"a\",{\"_placeholder\":true,\"num\":0.5}]", B("00"), B("01")],
  ["51-[\"a\",{\"_placeholder\":true,\"num\":0,\"x\":{\"_placeholder\":true,\"num\":5}}]", B("00")],
  ["51-[\"a\",{\"y\":[{\"_placeholder\":true,\"num\":5}]}]", B("00")],
  ["51-", B("00")], ["51-/nsp,", B("00")], ["51-/nsp,7", B("00")], ["61-/nsp,7[{\"_placeholder\":true,\"num\":0}]", B("00")],
  ["51-[\"a\"]", B("00"), B("01")],
  ["2[\"\\u0064isconnect\"]"], ["2[\"connect\"]"], ["2[\"connect_error\"]"], ["2[\"disconnecting\"]"], ["2[\"newListener\"]"],
  ["2[\"removeListener\"]"], ["2[\"Disconnect\"]"], ["2[ \"disconnect\" ]"], ["2[-1.5e3]"], ["2[true]"], ["2[null]"], ["2[[1]]"],
  ["2[\"a\"] "], ["2[\"a\"]x"], ["2 [\"a\"]"], ["2 1[\"a\"]"], ["21 2[\"a\"]"], ["2\u00a012[\"a\"]"], [" {}"], ["\u00a0{}"], [" [\"a\"]"],
  ["2/a,b,[\"x\"]"], ["2/a{\"x\":1}"], ["2/,[\"x\"]"], ["2/é€😀,[\"x\"]"], ["0/admin,{\"token\":\"t\"}"], ["0/admin,1{}"],
  ["20[\"a\"]"], ["2007[\"a\"]"], ["29007199254740993[\"a\"]"], ["299999999999999999999[\"a\"]"], ["2123"],
  ["5+1-[\"a\"]", B("00")], ["51.0-[\"a\"]", B("00")], ["50x1-[\"a\"]", B("00")], ["5 1 -[\"a\"]", B("00")], ["51e0-[\"a\"]", B("00")],
  ["5.1e1-[\"a\"]", B("00")], ["51.-[\"a\"]", B("00")], ["5.-[\"a\"]"], ["5Infinity-[\"a\"]"], ["51_0-[\"a\"]"], ["5-1-[\"a\"]"],
  ["599999999999999999999-[\"a\"]"], ["51e400-[\"a\"]"], ["50b1-[\"a\"]", B("00")], ["50o1-[\"a\"]", B("00")], ["5\u20281-[\"a\"]", B("00")],
  ["2[\"a\",]"], ["2[\"a\" , 1 ]"], ["2[\"\\ud83d\\ude00\"]"], ["2[\"\\ud83d\"]"], ["4{}"], ["4\"\""], ["0{\"a\":[1,2,{\"b\":null}]}"],
  ["2[1e999]"], ["2[\"a\",NaN]"], ["2['a']"], ["2[\"a\"\u2028]"], ["2[\"tab\there\"]"], ["2[\"a\",\"\u2028\"]"],
];
// nesting: JSON.parse has no depth limit; binary reconstruction recurses
const nest = (n) => "[".repeat(n) + "]".repeat(n);
seqs.push(["2[\"a\"," + nest(20000) + "]"], ["51-[\"a\"," + nest(4000) + "]", B("00")], ["51-[\"a\"," + nest(10000) + "]", B("00")]);
const dec = seqs.map((s) => runDecode(s));
dec.push(runDecode(["53-[\"a\"]"], 2), runDecode(["52-[\"a\"]", B("00"), B("01")], 2), runDecode(["51-[\"a\"]"], 0));

// random header/payload combinations
const heads = ["0", "1", "2", "3", "4", "5", "6", "7", "a", " ", "\u00a0", ""];
const counts = ["", "1-", "2-", "0-", "-", "1", "01-", " 1-", "11-", "1.0-"];
const nsps = ["", "/", "/a,", "/chat,", "/a", ",", "/x y,"];
const ids = ["", "1", "12", "0", " ", "1 ", " 2", "1 2", "007"];
const payloads = ["", "[\"a\"]", "[\"a\",1]", "[1]", "[]", "{}", "{\"a\":1}", "\"s\"", "1", "[\"disconnect\"]", "[", "x", "null",
  "[\"a\",{\"_placeholder\":true,\"num\":0}]", "[{\"_placeholder\":true,\"num\":1}]", " [\"a\"]", "[\"a\"] ", "[\"a\",{\"_placeholder\":true,\"num\":0.0}]"];
const bins = [[], [B("00")], [B("00"), B("01")], ["2[\"a\"]"], [B("00"), "2[\"a\"]"]];
for (let k = 0; k < 1500; k++) {
  const t = pick(heads);
  const text = t + (t === "5" || t === "6" || rnd() < 0.1 ? pick(counts) : "") + pick(nsps) + pick(ids) + pick(payloads);
  dec.push(runDecode([text, ...pick(bins)]));
}
fs.writeFileSync(path.join(out, "decode.json"), JSON.stringify(dec, null, 0).replace(/\},\{"msgs"/g, '},\n{"msgs"') + "\n");

const fuzzIn = path.join(out, "fuzz_inputs.json");
if (fs.existsSync(fuzzIn)) {
  const seqs2 = JSON.parse(fs.readFileSync(fuzzIn, "utf8"));
  const dec2 = seqs2.map((s) => runDecode(s));
  fs.writeFileSync(path.join(out, "decode_fuzz.json"), JSON.stringify(dec2, null, 0).replace(/\},\{"msgs"/g, '},\n{"msgs"') + "\n");
}

// ---- encode ----
const pk = [
  { type: 0, nsp: "/" }, { type: 0, nsp: "/admin", data: { sid: "abc" } }, { type: 1, nsp: "/admin" }, { type: 2, nsp: "/", data: ["foo"] },
  { type: 2, nsp: "/admin", id: 13, data: ["bar"] }, { type: 3, nsp: "/admin", id: 13, data: ["bar"] },
  { type: 4, nsp: "/", data: { message: "Not authorized" } }, { type: 4, nsp: "/secure", data: { message: "not authorized", data: { code: 42 } } },
  { type: 2, nsp: "/", data: ["baz", Buffer.from([1, 2, 3])] }, { type: 3, nsp: "/", id: 15, data: ["bar", Buffer.from([])] },
  { type: 2, nsp: "/", data: ["bin-back", Buffer.from([1, 2, 3]), { x: Buffer.from([4]) }] },
  { type: 3, nsp: "/", id: 12, data: [7, Buffer.from([9])] }, { type: 2, nsp: "/x", id: 0, data: ["é€😀\u2028\n\"\\", { a: null }] },
  { type: 1, nsp: "/" }, { type: 0, nsp: "/admin", data: { sid: "s", pid: "p" } }, { type: 2, nsp: "/", data: [1, "x"] },
  { type: 2, nsp: "/admin", id: 7, data: ["a", Buffer.from([1]), Buffer.from([2]), [Buffer.from([3])]] },
];
const enc = pk.map((p) => {
  const decon = deconstructPacket({ ...p, data: p.data });
  const r = { type: p.type, nsp: p.nsp };
  if ("id" in p) r.id = p.id;
  if (p.data !== undefined) r.data = JSON.stringify(decon.packet.data);
  r.attachments = decon.buffers.map((b) => b.toString("hex"));
  r.encoded = new Encoder().encode(p).map((x) => (typeof x === "string" ? x : { hex: Buffer.from(x).toString("hex") }));
  return r;
});
fs.writeFileSync(path.join(out, "encode.json"), JSON.stringify(enc, null, 1) + "\n");

// ---- JSON.stringify of strings ----
const strs = ["", "a", "\"", "\\", "\b\f\n\r\t", "\u0000\u0001\u001f\u007f", "é€😀", "\u2028\u2029", "<>&'", "/", "\ud7ff\ue000\uffff"];
const alpha = Array.from("ab\"\\\n\t\u0000\u001b\u007f é€😀\u2028<&/\u00ff\u0100");
for (let k = 0; k < 300; k++) {
  let s = "";
  const n = Math.floor(rnd() * 10);
  for (let i = 0; i < n; i++) s += pick(alpha);
  strs.push(s);
}
fs.writeFileSync(path.join(out, "strings.json"), JSON.stringify(strs.map((s) => ({ s, json: JSON.stringify(s) })), null, 0).replace(/\},\{/g, "},\n{") + "\n");
