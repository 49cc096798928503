/**
 * Test harness: the embedded API, a bus with a stand-in `cloudhub` module that records what
 * EdgeController sends, and helpers to send upstream messages exactly as cloudhub would
 * (resource prefixed `node/<id>/`, published to the `edgecontroller` group).
 */
import { startEmbeddedApi } from "../../../apiserver/mod.ts";
import { buildMessage, Bus, type Message } from "../../../modules/mod.ts";
import { KubeClient, type KubeClientOptions, type KubeObject } from "../../../kube/mod.ts";
import { EdgeController, type EdgeControllerOptions } from "../../../controllers/edge/mod.ts";
import { waitUntil } from "../../wait.ts";

/** Records every message sent to `cloudhub`. */
export class HubRecorder {
  readonly messages: Message[] = [];
  #loop: Promise<void>;
  constructor(readonly bus: Bus) {
    bus.addModule("cloudhub");
    this.#loop = (async () => {
      for (;;) {
        try {
          this.messages.push(await bus.receive("cloudhub"));
        } catch {
          return;
        }
      }
    })();
  }

  /** Waits for a message matching `pred` (polling; no fixed sleeps). */
  waitFor(pred: (m: Message) => boolean, what: string, timeoutMs = 10_000): Promise<Message> {
    return waitUntil(() => this.messages.find(pred), what, {
      timeoutMs,
      intervalMs: 10,
      detail: () =>
        `got:\n${this.messages.map((x) => `${x.route.operation} ${x.route.resource}`).join("\n")}`,
    });
  }

  /** Messages for a cloud resource (exact match) with an operation. */
  find(op: string, resource: string): Message[] {
    return this.messages.filter((m) => m.route.operation === op && m.route.resource === resource);
  }

  done(): Promise<void> {
    return this.#loop;
  }
}

/** Everything a test needs. */
export interface Env {
  api: Awaited<ReturnType<typeof startEmbeddedApi>>;
  kube: KubeClient;
  bus: Bus;
  hub: HubRecorder;
  ec: EdgeController;
  /** Sends an upstream message as cloudhub would and waits for the response to it. */
  request(node: string, resource: string, op: string, content: unknown): Promise<Message>;
  /** Sends an upstream message without waiting. */
  send(node: string, resource: string, op: string, content: unknown): Promise<Message>;
  kubectl(...args: string[]): Promise<string>;
}

/** Runs `fn` with a fresh API + bus + EdgeController; everything is closed afterwards. */
export async function withEnv(
  fn: (env: Env) => Promise<void>,
  opts: Partial<EdgeControllerOptions> = {},
  before?: (kube: KubeClient) => Promise<void>,
  kubeOpts: KubeClientOptions = {},
): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "ec-test-" });
  const api = await startEmbeddedApi({ dataDir, port: 0 });
  const kube = KubeClient.fromYaml(api.kubeconfigYaml, kubeOpts);
  const bus = new Bus();
  const hub = new HubRecorder(bus);
  bus.addModule("edgecontroller");
  const ec = new EdgeController({ kube, localIp: "10.0.0.1", ...opts });
  try {
    if (before) await before(kube);
    await ec.start({ bus });
    const send = async (node: string, resource: string, op: string, content: unknown) => {
      const msg = buildMessage(
        { source: "edged", group: "meta", operation: op, resource: `node/${node}/${resource}` },
        content,
      );
      await bus.sendToGroup("edgecontroller", msg);
      return msg;
    };
    const env: Env = {
      api,
      kube,
      bus,
      hub,
      ec,
      send,
      request: async (node, resource, op, content) => {
        const msg = await send(node, resource, op, content);
        return await hub.waitFor(
          (m) => m.header.parentId === msg.header.id,
          `reply to ${op} ${resource}`,
        );
      },
      kubectl: async (...args: string[]) => {
        const out = await new Deno.Command("kubectl", {
          args: ["--kubeconfig", api.kubeconfigPath, ...args],
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = new TextDecoder().decode(out.stdout);
        if (!out.success) {
          throw new Error(`kubectl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
        }
        return text;
      },
    };
    await fn(env);
  } finally {
    await ec.stop();
    bus.close();
    await hub.done();
    await kube.close();
    await api.close().catch(() => {}); // a test may have closed it already
    await Deno.remove(dataDir, { recursive: true });
  }
}

/** A labelled edge node. */
export function edgeNode(name: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "node-role.kubernetes.io/edge": "" } },
    status: {},
  };
}

/** A pod bound to `node`. */
export function pod(name: string, node: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: { nodeName: node, containers: [{ name: "c", image: "nginx" }], ...spec },
  };
}

/** Polls an async condition. */
export function eventually<T>(
  fn: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  return waitUntil(fn, what, { timeoutMs }) as Promise<T>;
}
