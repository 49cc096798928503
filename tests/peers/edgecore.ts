/**
 * What the edgecore real-peer tests share: edgecore's own default config pointed at a hub, and
 * readers of its sqlite database and of the hub's metrics. Not a test file itself.
 */
import { DatabaseSync } from "node:sqlite";
import mqtt from "mqtt";
import { parse, stringify } from "yaml";

/** A parsed YAML or JSON object. */
export type Obj = Record<string, unknown>;

/** The object at `path` in `o`, created on the way when missing. */
export function at(o: Obj, ...path: string[]): Obj {
  let cur = o;
  for (const key of path) cur = (cur[key] ??= {}) as Obj;
  return cur;
}

/** edgecore's own default config with every path under `dir` and the hub on loopback. */
export async function edgecoreConfig(
  bin: string,
  dir: string,
  node: string,
  hub: { wsPort: number; httpsPort: number },
  token: string,
  ports: { mqtt: number; metaServer: number; tunnel?: number },
): Promise<string> {
  const out = await new Deno.Command(bin, { args: ["--defaultconfig"], stdout: "piped" }).output();
  const cfg = parse(new TextDecoder().decode(out.stdout)) as Obj;
  at(cfg, "database").dataSource = `${dir}/edgecore.db`;
  const modules = at(cfg, "modules");
  const edgeHub = at(modules, "edgeHub");
  edgeHub.httpServer = `https://127.0.0.1:${hub.httpsPort}`;
  edgeHub.token = token;
  edgeHub.heartbeat = 2;
  edgeHub.tlsCaFile = `${dir}/ca/rootCA.crt`;
  edgeHub.tlsCertFile = `${dir}/certs/server.crt`;
  edgeHub.tlsPrivateKeyFile = `${dir}/certs/server.key`;
  at(edgeHub, "websocket").server = `127.0.0.1:${hub.wsPort}`;
  at(edgeHub, "quic").enable = false;
  const edged = at(modules, "edged");
  edged.enable = false;
  edged.hostnameOverride = node;
  const bus = at(modules, "eventBus");
  bus.mqttMode = 0;
  bus.mqttServerInternal = `tcp://127.0.0.1:${ports.mqtt}`;
  at(modules, "deviceTwin").dmiSockPath = `${dir}/dmi.sock`;
  const meta = at(modules, "metaManager", "metaServer");
  // Plain HTTP on loopback (the RequireAuthorization feature gate is off by default).
  meta.enable = true;
  meta.server = `127.0.0.1:${ports.metaServer}`;
  for (const name of ["edgeStream", "serviceBus", "taskManager", "dbTest"]) {
    at(modules, name).enable = false;
  }
  if (ports.tunnel) {
    // EdgeStream dials the cloud's tunnel with the node certificate; its kubelet server is
    // 127.0.0.1:10350 (edged's, or a stand-in when edged is off).
    edged.nodeIP = "127.0.0.1";
    const stream = at(modules, "edgeStream");
    stream.enable = true;
    stream.server = `127.0.0.1:${ports.tunnel}`;
    stream.tlsTunnelCAFile = `${dir}/ca/rootCA.crt`;
    stream.tlsTunnelCertFile = `${dir}/certs/server.crt`;
    stream.tlsTunnelPrivateKeyFile = `${dir}/certs/server.key`;
  }
  const file = `${dir}/edgecore.yaml`;
  await Deno.writeTextFile(file, stringify(cfg));
  return file;
}

/** The rows of the edge's device_twin table. */
export function twinsOnEdge(db: string): Obj[] {
  const conn = new DatabaseSync(db, { readOnly: true });
  try {
    return conn.prepare("select * from device_twin").all().map((r) => ({ ...r }));
  } finally {
    conn.close();
  }
}

/** The devices in the edge's database (none before its table exists). */
export function devicesOnEdge(db: string): Obj[] {
  const conn = new DatabaseSync(db, { readOnly: true });
  try {
    return conn.prepare("select id, name from device").all().map((r) => ({ ...r }));
  } catch {
    return [];
  } finally {
    conn.close();
  }
}

/** A sample of the hub's monitor endpoint (0 when absent). */
export async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(name));
  return line ? Number(line.split(" ").pop()) : 0;
}

/** A v1beta1 DeviceModel `<name>-model` and Device `<name>` with one INT property, bound to `node`. */
export function v1beta1Device(name: string, node: string): string {
  return `apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata: {name: ${name}-model, namespace: default}
spec:
  protocol: modbus
  properties:
  - {name: temperature, type: INT, accessMode: ReadWrite}
---
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: {name: ${name}, namespace: default}
spec:
  deviceModelRef: {name: ${name}-model}
  nodeName: ${node}
  protocol: {protocolName: modbus}
  properties:
  - {name: temperature, desired: {value: "20"}, reportToCloud: true}
`;
}

/**
 * Publishes an actual temperature as a mapper does, on the edge's MQTT bus:
 * `$hw/events/device/<deviceId>/twin/update` (`<ns>/<name>` for v1beta1, `<name>` for v1alpha2).
 */
export async function publishTwinReport(mqttPort: number, deviceId: string, value: string) {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0 });
  try {
    await client.publishAsync(
      `$hw/events/device/${deviceId}/twin/update`,
      JSON.stringify({
        event_id: "peer-test",
        timestamp: Date.now(),
        twin: { temperature: { actual: { value }, metadata: { type: "int" } } },
      }),
    );
  } finally {
    await client.endAsync();
  }
}
