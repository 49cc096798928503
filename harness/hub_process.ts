/**
 * A hub process for benches and failure tests: embedded API (Deno KV in `--data-dir`, so state
 * survives a SIGKILL), CloudHub with ObjectSync records in that API, EdgeController, optionally
 * DeviceController, and the :10002 cert server with a join token. It prints one JSON line
 * `{"ready":true,"server":...,"certServer":...,"token":...,"pid":...}` on stdout once serving.
 *
 * Used until `edgecloud serve` wires these modules; then `main.ts serve` can replace it.
 *
 * ```
 * deno task bench:run harness/hub_process.ts --data-dir /tmp/x \
 *   --ca-cert ca.crt --ca-key ca.key --cert server.crt --key server.key --ws-port 0
 * ```
 */
import { parseArgs } from "node:util";
import { CertServer, MemorySecretStore, prepareCerts, TokenManager } from "../hub/certs/mod.ts";
import { setLogLevel } from "../lib/log.ts";
import { startStack } from "./stack.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    "data-dir": { type: "string" },
    "ca-cert": { type: "string" },
    "ca-key": { type: "string" },
    cert: { type: "string" },
    key: { type: "string" },
    "ws-port": { type: "string", default: "0" },
    "cert-port": { type: "string" },
    devices: { type: "boolean", default: false },
    stream: { type: "boolean", default: false },
    cluster: { type: "boolean", default: false },
    "keepalive-interval": { type: "string" },
    "sync-write-concurrency": { type: "string" },
    "log-level": { type: "string", default: "error" },
  },
});
setLogLevel(values["log-level"] as "error");
const dataDir = values["data-dir"];
if (!dataDir) throw new Error("--data-dir is required");

const certs = await prepareCerts({
  store: new MemorySecretStore(),
  caFile: values["ca-cert"],
  caKeyFile: values["ca-key"],
  certFile: values.cert,
  keyFile: values.key,
  advertiseAddress: ["127.0.0.1"],
  dnsNames: ["localhost"],
});
const stack = await startStack({
  dataDir,
  pki: { ca: certs.ca, server: certs.serverCert },
  devices: values.devices,
  stream: values.stream,
  cluster: values.cluster ? {} : undefined,
  port: Number(values["ws-port"]),
  syncWriteConcurrency: values["sync-write-concurrency"]
    ? Number(values["sync-write-concurrency"])
    : undefined,
  hub: values["keepalive-interval"]
    ? { keepaliveInterval: Number(values["keepalive-interval"]) }
    : {},
});
let certServer: CertServer | undefined;
let token = "";
let certPort = 0;
if (values["cert-port"] !== undefined) {
  const tokens = new TokenManager({
    ca: certs.ca,
    store: new MemorySecretStore(),
    refreshHours: 12,
  });
  token = await tokens.start();
  certServer = new CertServer({
    address: "127.0.0.1",
    port: Number(values["cert-port"]),
    ca: certs.ca,
    serverCert: certs.serverCert,
    nodeExists: () => Promise.resolve(true),
  });
  certPort = (await certServer.start()).port;
  tokens.stop(); // the token stays valid for 24 h; no refresh timer needed in a bench
}

const stop = async () => {
  // A clean stop should take a moment; never let a stuck module keep a bench waiting.
  setTimeout(() => Deno.exit(0), 8_000);
  await certServer?.close();
  await stack.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
// A stats line every second for benches: in-process API requests so far, and the V8 heap (so a
// bench can tell the JS heap, live or garbage not yet collected, from the rest of the RSS).
setInterval(() => {
  const m = Deno.memoryUsage();
  console.log(JSON.stringify({
    stats: { apiRequests: stack.apiRequests(), heapUsed: m.heapUsed, heapTotal: m.heapTotal },
  }));
}, 1_000);
console.log(JSON.stringify({
  ready: true,
  server: stack.server,
  tunnelServer: stack.tunnelServer,
  certServer: certPort ? `127.0.0.1:${certPort}` : "",
  token,
  kubeconfigPath: `${dataDir}/kubeconfig.yaml`,
  pid: Deno.pid,
}));
