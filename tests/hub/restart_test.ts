import { assertEquals } from "../assert.ts";
import { KubeConfig } from "@kubernetes/client-node";
import { KubeHttp } from "../../kube/http.ts";
import { startEmbeddedApi } from "../../apiserver/mod.ts";
import { KubeSyncStore } from "../../kube/objectsync_kube.ts";
import { EdgeClient } from "../../edge/client.ts";
import { buildMessage, type Message, toWireObject } from "../../modules/message.ts";
import { clientCert, pki, until } from "./hub_fixture.ts";
import { readLines } from "../../harness/lines.ts";

/** A hub child process fed downstream messages through stdin. */
class HubProcess {
  readonly #proc: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncIterator<string>;

  constructor(pkiPath: string, kubeconfig: string) {
    this.#proc = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./hub_process_fixture.ts", import.meta.url).pathname,
        pkiPath,
        kubeconfig,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#proc.stdin.getWriter();
    this.#lines = readLines(this.#proc.stdout);
  }

  async port(): Promise<number> {
    const { value } = await this.#lines.next();
    return JSON.parse(value).port;
  }

  async dispatch(msg: Message): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(toWireObject(msg)) + "\n"));
    const { value } = await this.#lines.next();
    assertEquals(value, "ok");
  }

  /** SIGKILL: no drain, no cleanup. */
  async kill(): Promise<void> {
    this.#proc.kill("SIGKILL");
    await this.#proc.status;
    await this.#writer.close().catch(() => {});
    await this.#lines.return?.();
  }
}

function pod(name: string, uid: string, rv: string, operation = "update"): Message {
  return buildMessage({
    source: "edgecontroller",
    group: "resource",
    operation,
    resource: `node/n1/default/pod/${name}`,
  }, {
    kind: "Pod",
    apiVersion: "v1",
    metadata: { name, namespace: "default", uid, resourceVersion: rv },
  }, { resourceVersion: rv });
}

Deno.test("hub process killed: unacknowledged objects and deletes are delivered after restart, acknowledged ones are not", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hub-restart-" });
  const api = await startEmbeddedApi({ dataDir: `${dir}/api`, port: 0 });
  const p = await pki();
  const pkiPath = `${dir}/pki.json`;
  await Deno.writeTextFile(
    pkiPath,
    JSON.stringify({ certPem: p.server.certPem, keyPem: p.server.keyPem, caPem: p.ca.certPem }),
  );
  const kc = new KubeConfig();
  kc.loadFromString(api.kubeconfigYaml);
  const http = new KubeHttp(kc);
  // the observer reads the API directly (its cache would not see the hub process's writes)
  const store = new KubeSyncStore(http, { cache: false });
  const certs = await clientCert(p.ca, "n1");
  const edgeFor = (port: number) =>
    new EdgeClient({
      server: `127.0.0.1:${port}`,
      nodeName: "n1",
      caPem: p.ca.certPem,
      ...certs,
      heartbeat: 0,
    });
  let first: HubProcess | undefined;
  let second: HubProcess | undefined;
  try {
    first = new HubProcess(pkiPath, api.kubeconfigPath);
    const edge1 = edgeFor(await first.port());
    await edge1.connect();
    await first.dispatch(pod("acked", "uid-1", "10"));
    await edge1.waitFor((m) => m.route.resource === "default/pod/acked");
    await until(
      async () =>
        (await store.get({ namespace: "default", name: "n1.uid-1" }))?.resourceVersion === "10",
      10_000,
      "success point",
    );
    await edge1.close();
    await first.dispatch(pod("pending", "uid-2", "11")); // node offline: queued, ObjectSync RV "0"
    await first.kill();
    first = undefined;
    assertEquals(
      (await store.get({ namespace: "default", name: "n1.uid-2" }))?.resourceVersion,
      "0",
    );

    second = new HubProcess(pkiPath, api.kubeconfigPath);
    const port = await second.port();
    // what the informer relist and the sync reconciler offer after the restart: both objects,
    // and the delete of one that vanished while the hub was down
    await second.dispatch(pod("acked", "uid-1", "10"));
    await second.dispatch(pod("pending", "uid-2", "11"));
    await second.dispatch(pod("gone", "uid-3", "9", "delete"));
    const edge2 = edgeFor(port);
    await edge2.connect();
    await edge2.waitFor((m) => m.route.resource === "default/pod/pending");
    await edge2.waitFor((m) =>
      m.route.resource === "default/pod/gone" && m.route.operation === "delete"
    );
    await until(
      async () =>
        (await store.get({ namespace: "default", name: "n1.uid-2" }))?.resourceVersion === "11",
      10_000,
      "pending acked",
    );
    assertEquals(edge2.received.filter((m) => m.route.resource === "default/pod/acked").length, 0);
    await edge2.close();
  } finally {
    await first?.kill();
    await second?.kill();
    http.close();
    await api.close();
    await Deno.remove(dir, { recursive: true });
  }
});
