/**
 * Shared fixture for CloudHub tests: a CA, server cert and client certs made by hub/certs, a
 * CloudHub on 127.0.0.1 with ports from 0, and edge clients for it.
 */
import { Bus } from "../../modules/bus.ts";
import {
  type CA,
  createCA,
  type KeyPairPem,
  signCSR,
  signServerCert,
  toPem,
} from "../../pki/mod.ts";
import { createEdgeCsr } from "../../edge/pki.ts";
import { CloudHub, type CloudHubOptions } from "../../hub/cloudhub.ts";
import { EdgeClient, type EdgeClientOptions } from "../../edge/client.ts";
import type { SyncStore } from "../../kube/objectsync.ts";
import { waitUntil } from "../wait.ts";
import { buildMessage } from "../../modules/message.ts";

/** CA + server cert, created once per test file. */
export interface Pki {
  ca: CA;
  server: KeyPairPem;
}

let shared: Promise<Pki> | undefined;

/** A CA and a server certificate for 127.0.0.1 / localhost (cached per process). */
export function pki(): Promise<Pki> {
  shared ??= (async () => {
    const ca = await createCA();
    const server = await signServerCert(ca, { ips: ["127.0.0.1"], dnsNames: ["localhost"] });
    return { ca, server };
  })();
  return shared;
}

/** Client cert PEMs. */
export interface ClientPems {
  certPem: string;
  keyPem: string;
}

/** A client certificate as edgecore gets it (CN `system:node:<name>`), signed by `ca`. */
export async function clientCert(ca: CA, nodeName: string): Promise<ClientPems> {
  const csr = await createEdgeCsr(nodeName);
  const der = await signCSR(ca, csr.csrDer, { extKeyUsages: [], validityDays: 1 });
  return { certPem: toPem(der, "CERTIFICATE"), keyPem: csr.keyPem };
}

/** A started hub with its bus. */
export interface TestHub {
  hub: CloudHub;
  bus: Bus;
  pki: Pki;
  port: number;
  server: string;
  /** Makes an edge client for `node` (cert CN system:node:<certNode ?? node>). */
  edge(
    node: string,
    opts?: Partial<EdgeClientOptions> & { certNode?: string; ca?: CA },
  ): Promise<EdgeClient>;
  /** Makes, connects and registers an edge client. */
  connect(
    node: string,
    opts?: Partial<EdgeClientOptions> & { certNode?: string; ca?: CA },
  ): Promise<EdgeClient>;
  close(): Promise<void>;
}

/** Starts a hub (monitor on port 0) with `opts` merged over test defaults. */
export async function startHub(
  opts: Partial<CloudHubOptions> & { syncStore?: SyncStore; bus?: Bus } = {},
): Promise<TestHub> {
  const p = await pki();
  const bus = opts.bus ?? new Bus();
  const hub = new CloudHub({
    tls: { certPem: p.server.certPem, keyPem: p.server.keyPem, caPem: p.ca.certPem },
    websocket: { address: "127.0.0.1", port: 0, ...opts.websocket },
    monitor: { address: "127.0.0.1", port: 0, ...opts.monitor },
    ...opts,
  });
  await hub.start({ bus });
  const port = hub.ports.websocket;
  const server = `127.0.0.1:${port}`;
  const clients: EdgeClient[] = [];
  const edge: TestHub["edge"] = async (node, o = {}) => {
    const certs = await clientCert(o.ca ?? p.ca, o.certNode ?? node);
    const client = new EdgeClient({
      server,
      nodeName: node,
      caPem: p.ca.certPem,
      ...certs,
      heartbeat: 0,
      ...o,
    });
    clients.push(client);
    return client;
  };
  return {
    hub,
    bus,
    pki: p,
    port,
    server,
    edge,
    async connect(node, o = {}) {
      const c = await edge(node, o);
      await c.connect();
      return c;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await hub.stop();
      if (!opts.bus) bus.close();
    },
  };
}

/** Polls `fn` until it returns a truthy value (or throws after `timeoutMs`). */
export function until<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 5_000,
  what = "condition",
): Promise<T> {
  return waitUntil(fn, what, { timeoutMs, intervalMs: 10 }) as Promise<T>;
}

/**
 * A viaduct `ping` the hub answers at once: once its reply is back, everything `edge` sent before
 * it has been read by the hub, and anything the hub wrote before the reply has arrived.
 */
export async function pingRoundTrip(edge: EdgeClient): Promise<void> {
  const ping = buildMessage({
    source: "websocket",
    group: "resource",
    operation: "ping",
    resource: "node",
  }, "x");
  await edge.send(ping);
  await edge.waitFor((m) => m.header.parentId === ping.header.id);
}
