/**
 * Real edgecore's MetaServer (EDGECORE_BIN) served by our DynamicController: a list of Services
 * through `127.0.0.1:<metaServer>` (as an edge application or EdgeMesh asks) reaches the cloud and
 * returns what the API holds, and a watch there sees a Service created afterwards, as cloudcore's
 * DynamicController delivers it.
 */
import { assert, assertEquals } from "../assert.ts";
import {
  eventually,
  exclusively,
  freePort,
  joinToken,
  kubectl,
  LoggedProcess,
  peerTest,
  removeDir,
  startHub,
} from "./harness.ts";
import { edgecoreConfig } from "./edgecore.ts";

const NODE = "ec-meta-1";

const service = (name: string) =>
  `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  labels: {app: meta}\nspec:\n  ports:\n  - port: 80\n`;

peerTest("edgecore's MetaServer lists and watches through our DynamicController", [
  "EDGECORE_BIN",
], async ({ EDGECORE_BIN }, t) => {
  await exclusively(async () => {
    const dir = await Deno.makeTempDir({ prefix: "edgecloud-peer-meta-" });
    const hub = await startHub(dir, { extra: `  dynamicController:\n    enable: true\n` });
    const kc = hub.kubeconfig;
    const edgeDir = `${dir}/edge`;
    await Deno.mkdir(edgeDir, { recursive: true });
    const metaPort = freePort();
    let edge: LoggedProcess | undefined;
    const abort = new AbortController();
    try {
      await kubectl(kc, ["apply", "-f", "-"], { stdin: service("first") });
      const config = await edgecoreConfig(
        EDGECORE_BIN,
        edgeDir,
        NODE,
        hub,
        await joinToken(hub.dataDir),
        { mqtt: freePort(), metaServer: metaPort },
      );
      edge = new LoggedProcess(EDGECORE_BIN, ["--config", config], `${edgeDir}/edgecore.log`);
      await hub.main.waitForLine(`node connected node=${NODE}`);
      const base = `http://127.0.0.1:${metaPort}/api/v1/namespaces/default/services`;

      await t.step("a list goes to the cloud and returns the API's objects", async () => {
        const list = await eventually(async () => {
          const r = await fetch(`${base}?labelSelector=app%3Dmeta`);
          if (r.status !== 200) {
            await r.body?.cancel();
            return undefined;
          }
          const body = await r.json() as { items?: { metadata: { name: string } }[] };
          return body.items?.length ? body : undefined;
        }, "services listed through edgecore's MetaServer");
        assertEquals(list.items!.map((i) => i.metadata.name), ["first"]);
      });

      await t.step("a watch sees a Service created afterwards", async () => {
        const res = await fetch(`${base}?watch=true&labelSelector=app%3Dmeta`, {
          signal: abort.signal,
        });
        assertEquals(res.status, 200);
        const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
        await kubectl(kc, ["apply", "-f", "-"], { stdin: service("second") });
        let seen = "";
        const guard = setTimeout(() => abort.abort(), 60_000);
        try {
          while (!seen.includes('"second"')) {
            const { value, done } = await reader.read();
            if (done) break;
            seen += value;
          }
        } finally {
          clearTimeout(guard);
          await reader.cancel().catch(() => {});
        }
        assert(seen.includes('"second"'), `watch stream: ${seen.slice(0, 500)}`);
        assert(/"type":"ADDED"/.test(seen));
      });

      await t.step("the hub answered, never rejected", () => {
        assertEquals(edge!.log().includes("serves no DynamicController"), false);
        assertEquals(hub.main.lines.filter((l) => l.includes("malformed")), []);
      });
    } finally {
      abort.abort();
      await edge?.stop();
      await hub.stop();
      await removeDir(dir);
    }
  });
});
