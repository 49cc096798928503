/**
 * A CloudHub in its own process for restart tests: `deno run -A hub_process_fixture.ts
 * <pki.json> <kubeconfig>`. Prints `{"port":N}` once listening, then reads one JSON message per
 * stdin line, dispatches it downstream, flushes, and answers `ok`. Killing it (SIGKILL) loses
 * everything but the ObjectSync records in the API.
 */
import { KubeClient } from "../../kube/mod.ts";
import { Bus } from "../../modules/bus.ts";
import { setLogLevel } from "../../lib/log.ts";
import { messageFromWire } from "../../modules/message.ts";
import { CloudHub } from "../../hub/cloudhub.ts";
import { KubeSyncStore } from "../../kube/objectsync_kube.ts";
import { readLines } from "../../harness/lines.ts";

setLogLevel("error");
const [pkiPath, kubeconfigPath] = Deno.args;
const pki = JSON.parse(await Deno.readTextFile(pkiPath));
const kube = KubeClient.fromFile(kubeconfigPath);
const hub = new CloudHub({
  tls: pki,
  websocket: { address: "127.0.0.1", port: 0 },
  monitor: { enable: false },
  syncStore: new KubeSyncStore(kube.http),
});
await hub.start({ bus: new Bus() });
const out = (line: string) => Deno.stdout.write(new TextEncoder().encode(line + "\n"));
await out(JSON.stringify({ port: hub.ports.websocket }));
for await (const line of readLines(Deno.stdin.readable)) {
  await hub.dispatcher.downstream(messageFromWire(JSON.parse(line)));
  await hub.dispatcher.flush();
  await out("ok");
}
