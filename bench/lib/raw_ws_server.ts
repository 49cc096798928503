/**
 * The raw baseline of the fanout scenario: a plain `npm:ws` server on `node:https` with the same
 * mTLS settings as CloudHub (client certificate required, same CA and server certificate), in
 * its own process like the hub. It does no routing, queueing or bookkeeping: one wave sends the
 * given JSON to every client and waits until every client has answered (its ACK).
 *
 * stdin commands (one JSON per line): `{"cmd":"wave","payload":"<json>"}` → `{"ms":<elapsed>}`;
 * `{"cmd":"stats"}` → `{"clients":n}`; `{"cmd":"stop"}`.
 */
import https from "node:https";
import { WebSocketServer } from "ws";
import { readLines } from "./lines.ts";

const cfg = JSON.parse(Deno.args[0]) as { certPem: string; keyPem: string; caPem: string };
const server = https.createServer({
  cert: cfg.certPem,
  key: cfg.keyPem,
  ca: cfg.caPem,
  requestCert: true,
  rejectUnauthorized: true,
});
const wss = new WebSocketServer({ server, perMessageDeflate: false });
let acks = 0;
let want = 0;
let done: (() => void) | undefined;
wss.on("connection", (ws) => {
  ws.on("message", () => {
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
    for (const c of wss.clients) c.send(cmd.payload!);
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
