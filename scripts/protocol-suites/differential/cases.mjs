// Sends the same raw Engine.IO / Socket.IO exchanges to a server and prints
// one line per case (sids replaced by X), so two servers' outputs can be
// diffed. Usage: node cases.mjs PORT
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "..", "..", "..", "clients", "compat", "package.json"));
const { WebSocket } = require("ws");

const PORT = process.argv[2] || "3000";
const WS = `ws://127.0.0.1:${PORT}/socket.io/?EIO=4&transport=websocket`;
const HTTP = `http://127.0.0.1:${PORT}/socket.io/?EIO=4&transport=polling`;
const norm = (s) => s.replace(/"sid":"[^"]{20}"/g, '"sid":"X"');

// ws opens a WebSocket session, sends sends[0] after the open packet and the
// rest after the CONNECT reply and "auth" (or after the first answer that is
// not a CONNECT reply), answers pings, and collects for ms milliseconds.
function ws(sends, ms = 400) {
  return new Promise((resolve) => {
    const sock = new WebSocket(WS);
    sock.binaryType = "nodebuffer";
    const got = [];
    let n = 0;
    const send = (s) => sock.send(typeof s === "string" ? s : Buffer.from(s));
    sock.on("message", (d, isBinary) => {
      n++;
      if (n === 1) return send(sends[0]);
      const t = isBinary ? "bin:" + d.toString("hex") : d.toString();
      if (t === "2") return sock.send("3");
      got.push(norm(t));
      if (n === 3 || (n === 2 && !t.startsWith("40"))) sends.slice(1).forEach(send);
    });
    sock.on("close", () => got.push("CLOSE"));
    sock.on("error", () => {});
    setTimeout(() => { sock.terminate(); resolve(got); }, ms);
  });
}

// poll opens a polling session and runs [method, body?, contentType?] steps.
async function poll(steps) {
  const out = [];
  const open = await (await fetch(HTTP)).text();
  const q = HTTP + "&sid=" + JSON.parse(open.slice(1)).sid;
  for (const [method, body, ct] of steps) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), 700);
    try {
      const opts = method === "GET" ? {} : { method, body, headers: { "content-type": ct || "text/plain;charset=UTF-8" } };
      const r = await fetch(q, { ...opts, signal: ctl.signal });
      out.push(`${method} ${r.status} ${JSON.stringify(norm(await r.text()))}`);
    } catch (e) {
      out.push(`${method} ${e.name}`);
    } finally {
      clearTimeout(timer);
    }
  }
  return out;
}

const wsCases = {
  "connect twice": ["40", "40"],
  "event to an unconnected namespace": ["40", '42/custom,["message",1]'],
  "reserved event name": ["40", '42["connect"]'],
  "numeric event name": ["40", '42[1,"x"]', '42["message","after"]'],
  "event without arguments": ["40", '42["message"]'],
  "JSON the handler re-serializes": ["40", '42["message",1.0,1e400,"\\u00e9",{"a":1,"a":2},-0, 2 ]'],
  "ack for an unknown id": ["40", '431["x"]', '42["message","after"]'],
  "placeholder beyond the attachments": ["40", '451-["message",{"_placeholder":true,"num":5}]', [1]],
  "text while attachments are due": ["40", '451-["message",{"_placeholder":true,"num":0}]', '42["message","x"]'],
  "disconnect from an unconnected namespace": ["40", "41/custom,", '42["message","after"]'],
  "unknown namespace without comma": ["40/nope"],
  "CONNECT with a string payload": ['40"str"'],
  "CONNECT with an array payload": ["40[1]"],
  "namespace without comma before the payload": ["40/custom,", '42/custom["message"]'],
  "ping from the client": ["40", "2"],
  "upgrade packet on a WebSocket session": ["40", "5"],
  "noop from the client": ["40", "6", '42["message","after"]'],
  "nested binary": ["40", '451-["message",{"a":[{"b":{"_placeholder":true,"num":0}}]}]', [9, 8]],
  "ack without an ack id": ["40", '42["message-with-ack",1]', '42["message","after"]'],
};
for (const id of ["0123", "9007199254740993", "9223372036854775807", "9223372036854775808", "18446744073709551616", "99999999999999999999"]) {
  wsCases[`ack id ${id}`] = ["40", `42${id}["message-with-ack",1]`];
}
const pollCases = {
  "invalid packet after a valid one": [["POST", "40"], ["GET"], ["POST", '42["message",1]\x1e4abc'], ["GET"], ["GET"]],
  "body over maxPayload": [["POST", "4" + "x".repeat(1000001)], ["GET"]],
  "pong": [["POST", "40"], ["GET"], ["POST", "3"], ["GET"]],
  "octet-stream body": [["POST", "40", "application/octet-stream"], ["GET"]],
  "binary payload": [["POST", "40"], ["GET"], ["POST", '451-["message",{"_placeholder":true,"num":0}]\x1ebAQI='], ["GET"]],
  "empty body": [["POST", ""], ["GET"]],
  "trailing separator": [["POST", "40\x1e"], ["GET"]],
  "PUT with a sid": [["PUT", "x"]],
  "CONNECT custom with auth": [["POST", '40/custom,{"token":"abc"}'], ["GET"]],
  "unknown namespace": [["POST", "40/random"], ["GET"]],
  "two attachments": [["POST", "40"], ["GET"], ["POST", '452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]\x1ebAQID\x1ebBAUG'], ["GET"]],
  "ack": [["POST", "40"], ["GET"], ["POST", '42456["message-with-ack",1,"2",{"3":[false]}]'], ["GET"]],
  "binary ack": [["POST", "40"], ["GET"], ["POST", '452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]\x1ebAQID\x1ebBAUG'], ["GET"]],
  "several packets": [["POST", "40"], ["GET"], ["POST", '42["message",1]\x1e42["message",2]'], ["GET"]],
};
for (const bad of ["4abc", "42{}", '42abc["message-with-ack",1,"2",{"3":[false]}]']) {
  pollCases[`invalid ${bad}`] = [["POST", "40"], ["GET"], ["POST", bad], ["GET"], ["GET"]];
}

for (const [name, sends] of Object.entries(wsCases)) console.log(`WS ${name} => ${JSON.stringify(await ws(sends))}`);
for (const [name, steps] of Object.entries(pollCases)) console.log(`POLL ${name} => ${JSON.stringify(await poll(steps))}`);
