/**
 * DynamicController through the in-process hub: an edge's MetaServer lists and gets through the
 * cloud with selectors, node restriction applies, a watch sees a ConfigMap change, a watch from a
 * compacted resourceVersion is Rejected with 410, watchapp/sync drops stale watches, and the
 * NodeGroup endpoint filter trims Endpoints.
 */
import { assert, assertEquals, assertRejects } from "../../assert.ts";
import {
  EdgeClient,
  MetaServerClient,
  MetaServerError,
  type MetaWatchEvent,
} from "../../../edge/mod.ts";
import { nodeInsert } from "../../../edge/sim/mod.ts";
import { type Stack, startStack } from "../../../harness/stack.ts";
import { setLogLevel } from "../../../lib/log.ts";
import { waitUntil } from "../../wait.ts";

setLogLevel("warn");

const CM = { group: "", version: "v1", resource: "configmaps" };
const SECRETS = { group: "", version: "v1", resource: "secrets" };
const PODS = { group: "", version: "v1", resource: "pods" };
const SVC = { group: "", version: "v1", resource: "services" };
const EPS = { group: "", version: "v1", resource: "endpoints" };

async function edge(
  stack: Stack,
  node: string,
): Promise<{ client: EdgeClient; meta: MetaServerClient }> {
  const creds = await stack.issuer.credentials(node);
  const client = new EdgeClient({ server: stack.server, nodeName: node, ...creds });
  await client.connect();
  await client.send(nodeInsert(node));
  await waitUntil(
    () => stack.kube.get(`/api/v1/nodes/${node}`).then(() => true, () => false),
    `node ${node} registered`,
  );
  return { client, meta: new MetaServerClient(client, node) };
}

async function setup(watchLogSize?: number) {
  const stack = await startStack({ dynamic: true, sync: false, watchLogSize });
  const k = stack.kube;
  const cm = (name: string, labels: Record<string, string>, data: Record<string, string>) =>
    k.create("/api/v1/namespaces/default/configmaps", {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, labels },
      data,
    });
  await cm("app-config", { app: "web" }, { mode: "a" });
  await cm("other", { app: "db" }, { mode: "b" });
  await k.create("/api/v1/namespaces/default/secrets", {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "theirs" },
    data: {},
  });
  const pod = (name: string, node: string) =>
    k.create("/api/v1/namespaces/default/pods", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name },
      spec: {
        nodeName: node,
        containers: [{
          name: "c",
          image: "x",
          envFrom: [{ configMapRef: { name: "app-config" } }],
        }],
        volumes: node === "edge-b" ? [{ name: "s", secret: { secretName: "theirs" } }] : [],
      },
    });
  await pod("mine", "edge-a");
  await pod("theirs", "edge-b");
  return stack;
}

Deno.test("MetaServer list/get through the cloud, with node restriction", async () => {
  const stack = await setup();
  const { client, meta } = await edge(stack, "edge-a");
  try {
    // A referenced ConfigMap by name (list with a field selector, and get).
    const list = await meta.list(CM, "default", { fieldSelector: "metadata.name=app-config" }) as {
      items: { metadata: { name: string } }[];
    };
    assertEquals(list.items.map((i) => i.metadata.name), ["app-config"]);
    const got = await meta.get(CM, "default", "app-config") as { data: Record<string, string> };
    assertEquals(got.data, { mode: "a" });
    // Services are free to read; label selectors go through.
    await stack.kube.create("/api/v1/namespaces/default/services", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", labels: { tier: "front" } },
      spec: { ports: [{ port: 80 }] },
    });
    const svcs = await meta.list(SVC, "default", { labelSelector: "tier=front" }) as {
      items: unknown[];
    };
    assertEquals(svcs.items.length, 1);
    // Own pods by spec.nodeName; someone else's pod, secret, or all configmaps: 403.
    const pods = await meta.list(PODS, "", { fieldSelector: "spec.nodeName=edge-a" }) as {
      items: { metadata: { name: string } }[];
    };
    assertEquals(pods.items.map((p) => p.metadata.name), ["mine"]);
    for (
      const call of [
        () => meta.get(PODS, "default", "theirs"),
        () => meta.get(SECRETS, "default", "theirs"),
        () => meta.list(CM, "default"),
      ]
    ) {
      const e = await assertRejects(call, MetaServerError);
      assertEquals((e as MetaServerError).code, 403);
      assertEquals((e as MetaServerError).result.status, "Rejected");
    }
    // An API error comes back as the API's Status.
    const nf = await assertRejects(() => meta.get(CM, "default", "nope"), MetaServerError);
    assertEquals((nf as MetaServerError).code, 403); // not referenced: denied before the lookup
  } finally {
    await client.close();
    await stack.close();
  }
});

Deno.test("MetaServer watch: a ConfigMap change reaches the edge; 410 after compaction; sync drops stale watches", async () => {
  const stack = await setup(20);
  const { client, meta } = await edge(stack, "edge-a");
  try {
    const rv0 = ((await stack.kube.get("/api/v1/namespaces/default/configmaps/app-config")) as {
      metadata: { resourceVersion: string };
    }).metadata.resourceVersion;
    // A Service (no controller pushes it to edges): the watch sends it, then its change.
    await stack.kube.create("/api/v1/namespaces/default/services", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", labels: { tier: "front" } },
      spec: { ports: [{ port: 80 }] },
    });
    const svcEvents: MetaWatchEvent[] = [];
    const offSvc = await meta.watch(
      SVC,
      "default",
      { labelSelector: "tier=front" },
      (e) => svcEvents.push(e),
    );
    await waitUntil(() => svcEvents.some((e) => e.operation === "insert"), "the Service");
    await stack.kube.patch(
      "/api/v1/namespaces/default/services/web",
      { metadata: { annotations: { touched: "yes" } } },
      "application/merge-patch+json",
    );
    await waitUntil(() => svcEvents.some((e) => e.operation === "update"), "the Service's change");
    offSvc();

    // The ConfigMap its pod uses: each change reaches the edge (once per version, from
    // whichever controller the hub took it from).
    const events: MetaWatchEvent[] = [];
    const off = await meta.watch(
      CM,
      "default",
      { fieldSelector: "metadata.name=app-config" },
      (e) => events.push(e),
    );
    assertEquals(stack.dynamicController!.watches, 2);
    await stack.kube.patch(
      "/api/v1/namespaces/default/configmaps/app-config",
      { data: { mode: "changed" } },
      "application/merge-patch+json",
    );
    const upd = await waitUntil(
      () => events.find((e) => (e.object.data as Record<string, string>)?.mode === "changed"),
      "the change",
    );
    assert(Number(upd.resourceVersion) > Number(rv0));

    // Push the watch log past rv0: a watch from rv0 is now too old.
    for (let i = 0; i < 30; i++) {
      await stack.kube.patch(
        "/api/v1/namespaces/default/configmaps/other",
        { data: { n: String(i) } },
        "application/merge-patch+json",
      );
    }
    const gone = await assertRejects(
      () =>
        meta.watch(CM, "default", {
          fieldSelector: "metadata.name=app-config",
          resourceVersion: rv0,
        }, () => {}),
      MetaServerError,
    );
    assertEquals((gone as MetaServerError).code, 410);

    // The edge no longer holds the watch: its sync makes the cloud drop it.
    off();
    meta.forgetAll();
    assertEquals(await meta.syncWatches(), {});
    assertEquals(stack.dynamicController!.watches, 0);
  } finally {
    await client.close();
    await stack.close();
  }
});

Deno.test("NodeGroup service topology trims Endpoints to the edge's node group", async () => {
  const stack = await setup();
  const { client, meta } = await edge(stack, "edge-a");
  try {
    const k = stack.kube;
    for (const [n, group] of [["edge-a", "g1"], ["edge-b", "g2"], ["edge-c", "g1"]]) {
      if (n !== "edge-a") {
        await k.create("/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: n } });
      }
      await k.patch(
        `/api/v1/nodes/${n}`,
        { metadata: { labels: { "apps.kubeedge.io/belonging-to": group } } },
        "application/merge-patch+json",
      );
    }
    await k.create("/api/v1/namespaces/default/services", {
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        name: "grouped",
        annotations: { "apps.kubeedge.io/service-topology": "range-nodegroup" },
      },
      spec: { ports: [{ port: 80 }] },
    });
    await k.create("/api/v1/namespaces/default/endpoints", {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "grouped" },
      subsets: [{
        addresses: [
          { ip: "10.0.0.1", nodeName: "edge-a" },
          { ip: "10.0.0.2", nodeName: "edge-b" },
          { ip: "10.0.0.3", nodeName: "edge-c" },
        ],
        ports: [{ port: 80 }],
      }],
    });
    const ep = await meta.get(EPS, "default", "grouped") as {
      subsets: { addresses: { ip: string }[] }[];
    };
    assertEquals(ep.subsets[0].addresses.map((a) => a.ip), ["10.0.0.1", "10.0.0.3"]);
  } finally {
    await client.close();
    await stack.close();
  }
});
