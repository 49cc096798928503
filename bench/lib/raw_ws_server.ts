/**
 * The raw baseline of the fanout scenario: a plain `npm:ws` server on `node:https` with the same
 * mTLS settings as CloudHub (client certificate required, same CA and server certificate), in
 * its own process like the hub. It does no routing, queueing or bookkeeping: one wave sends the
 * given JSON to every client and waits until every client has answered (its ACK). The clients
 * are simulated edge nodes, which also send keepalives, node status and leases: only frames that
 * are responses count as ACKs (a byte search, no decoding).
 *
 * stdin commands (one JSON per line): `{"cmd":"wave","payload":"<json>"}` → `{"ms":<elapsed>}`
 * (the payload's `msg_id` is replaced by a fresh one per wave, like a new message);
 * `{"cmd":"stats"}` → `{"clients":n}`; `{"cmd":"stop"}`.
 */
import https from "node:https";
import { WebSocketServer } from "ws";
import { Buffer } from "node:buffer";
import { readLines } from "../../harness/lines.ts";

const cfg = JSON.parse(Deno.args[0]) as { certPem: string; keyPem: string; caPem: string };
const server = https.createServer({
  cert: cfg.certPem,
  key: cfg.keyPem,
  ca: cfg.caPem,
  requestCert: true,
  rejectUnauthorized: true,
});
const wss = new WebSocketServer({ server, perMessageDeflate: false });
const RESPONSE = Buffer.from(`"operation":"response"`);
let acks = 0;
let want = 0;
let done: (() => void) | undefined;
wss.on("connection", (ws) => {
  ws.on("message", (data: Uint8Array) => {
    if (!Buffer.from(data).includes(RESPONSE)) return;
    if (++acks >= want && done) done();
  });
  ws.on("error", () => {});
});
await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
const port = (server.address() as { port: number }).port;
const enc = new TextEncoder();
const reply = (v: unknown) => Deno.stdout.writeSync(enc.encode(JSON.stringify(v) + "\n"));
reply({ port });
for await (const line of readLines(Deno.stdin.readable)) {
  const cmd = JSON.parse(line) as { cmd: string; payload?: string };
  if (cmd.cmd === "stats") reply({ clients: wss.clients.size });
  if (cmd.cmd === "wave") {
    want = acks + wss.clients.size;
    const all = new Promise<void>((r) => done = r);
    const t0 = performance.now();
    const id = /"msg_id":"([^"]*)"/.exec(cmd.payload!)?.[1];
    const payload = id ? cmd.payload!.replace(id, crypto.randomUUID()) : cmd.payload!;
    for (const c of wss.clients) c.send(payload);
    await all;
    done = undefined;
    reply({ ms: performance.now() - t0 });
  }
  if (cmd.cmd === "stop") {
    for (const c of wss.clients) c.terminate();
    wss.close();
    server.close();
    reply({ ok: true });
    Deno.exit(0);
  }
}
