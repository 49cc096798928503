/**
 * Bus-level harness for DeviceController tests: an embedded API, a bus with a stand-in
 * `cloudhub` module that records what the controller sends, and helpers to send upstream
 * messages into the `devicecontroller` group exactly as CloudHub does (resource prefixed
 * `node/<id>/`, source `twin`).
 */
import { KubeConfig } from "@kubernetes/client-node";
import { buildMessage, Bus, type Message } from "../../../modules/mod.ts";
import { BusClosedError } from "../../../modules/bus.ts";
import { ManualClock, setLogLevel } from "../../../lib/mod.ts";
import {
  type DeviceApiClient,
  DeviceController,
  type DeviceControllerOptions,
  KubeDeviceApi,
} from "../../../controllers/device/mod.ts";
import { KubeClient } from "../../../kube/mod.ts";
import {
  kubectl,
  kubectlOk,
  startTestApi,
  type TestApi,
  waitFor,
} from "../../apiserver/helpers.ts";

export { kubectl, kubectlOk, ManualClock, waitFor };

setLogLevel("error");

/** Wraps a DeviceApiClient to count status PATCHes and optionally fail some. */
export class CountingApi implements DeviceApiClient {
  statusPatches: { plural: string; name: string; body: unknown }[] = [];
  /** Fail the next N status patches with a 500-like error. */
  failNext = 0;
  constructor(readonly inner: DeviceApiClient) {}
  servedVersions: DeviceApiClient["servedVersions"] = (p) => this.inner.servedVersions(p);
  get: DeviceApiClient["get"] = (...a) => this.inner.get(...a);
  create: DeviceApiClient["create"] = (...a) => this.inner.create(...a);
  delete: DeviceApiClient["delete"] = (...a) => this.inner.delete(...a);
  mergePatch: DeviceApiClient["mergePatch"] = (version, plural, ns, name, body) => {
    // A status write is a patch of the main resource carrying `status` (no status subresource).
    if ((body as { status?: unknown }).status !== undefined) {
      if (this.failNext > 0) {
        this.failNext--;
        return Promise.reject(new Error("injected patch failure"));
      }
      this.statusPatches.push({ plural, name, body });
    }
    return this.inner.mergePatch(version, plural, ns, name, body);
  };
  applyConfigMap: DeviceApiClient["applyConfigMap"] = (...a) => this.inner.applyConfigMap(...a);
  deleteConfigMap: DeviceApiClient["deleteConfigMap"] = (...a) => this.inner.deleteConfigMap(...a);
  listConfigMaps: DeviceApiClient["listConfigMaps"] = (s) => this.inner.listConfigMaps(s);
  createEvent: DeviceApiClient["createEvent"] = (...a) => this.inner.createEvent(...a);
}

/** A running harness. */
export interface Harness {
  api: TestApi;
  bus: Bus;
  kube: KubeClient;
  counting: CountingApi;
  dc: DeviceController;
  /** Everything sent to `cloudhub`, in order. */
  sent: Message[];
  /** Runs kubectl and throws on failure. */
  k(args: string[], stdin?: string): Promise<string>;
  /** Sends an upstream message as CloudHub would. */
  upstream(node: string, resource: string, content: unknown): Promise<Message>;
  /** Waits until a sent message matches. */
  waitSent(pred: (m: Message) => boolean, what: string): Promise<Message>;
  close(): Promise<void>;
}

/** Starts API, bus, recorder and controller. */
export async function startHarness(
  opts: Partial<DeviceControllerOptions> & { before?: (h: { api: TestApi }) => Promise<void> } = {},
): Promise<Harness> {
  const api = await startTestApi();
  try {
    if (opts.before) await opts.before({ api });
    const kc = new KubeConfig();
    kc.loadFromString(api.kubeconfigYaml);
    const kube = new KubeClient(kc);
    const counting = new CountingApi(new KubeDeviceApi(kube));
    const bus = new Bus();
    bus.addModule("cloudhub");
    const sent: Message[] = [];
    const recorder = (async () => {
      for (;;) {
        try {
          sent.push(await bus.receive("cloudhub"));
        } catch (err) {
          if (err instanceof BusClosedError) return;
          throw err;
        }
      }
    })();
    const { before: _b, ...rest } = opts;
    const dc = new DeviceController({ kube, api: counting, coalesceWindowMs: 50, ...rest });
    await dc.start({ bus });
    return {
      api,
      bus,
      kube,
      counting,
      dc,
      sent,
      k: (args, stdin) => kubectlOk(api, args, stdin),
      async upstream(node, resource, content) {
        const msg = buildMessage(
          {
            source: "twin",
            group: "resource",
            operation: "update",
            resource: `node/${node}/${resource}`,
          },
          content,
        );
        await bus.sendToGroup("devicecontroller", msg);
        return msg;
      },
      waitSent: (pred, what) => waitFor(() => sent.find(pred), what) as Promise<Message>,
      async close() {
        await dc.stop();
        bus.close();
        await recorder;
        await kube.close();
        await api.dispose();
      },
    };
  } catch (err) {
    await api.dispose();
    throw err;
  }
}

/** A v1alpha2 DeviceModel manifest. */
export const classicModel = (name = "sensor-model", extra = "") => `
apiVersion: devices.kubeedge.io/v1alpha2
kind: DeviceModel
metadata:
  name: ${name}
  namespace: default
spec:
  properties:
  - name: temperature
    description: temperature in degree celsius
    type:
      int:
        accessMode: ReadWrite
        maximum: 100
        unit: degree celsius
  - name: switch
    type:
      boolean:
        accessMode: ReadWrite
        defaultValue: false${extra}
`;

/** The nodeSelector binding a classic Device to `node`. */
export const nodeSelector = (node: string) => ({
  nodeSelectorTerms: [{ matchExpressions: [{ key: "", operator: "In", values: [node] }] }],
});

/**
 * A v1alpha2 Device, bound to `node` through nodeSelector when given. (KubeEdge's device CRDs
 * have no status subresource: tests set twins with a patch of the main resource, as
 * `kubectl edit device` does.)
 */
export const classicDevice = (name: string, node?: string, model = "sensor-model") => `
apiVersion: devices.kubeedge.io/v1alpha2
kind: Device
metadata:
  name: ${name}
  namespace: default
  labels:
    description: counter
spec:
  deviceModelRef:
    name: ${model}
  protocol:
    modbus:
      slaveID: 1
    common:
      com:
        serialPort: /dev/ttyS0
        baudRate: 9600
  propertyVisitors:
  - propertyName: temperature
    reportCycle: 1000
    modbus:
      register: HoldingRegister
      offset: 2
      limit: 1
${node ? `  nodeSelector: ${JSON.stringify(nodeSelector(node))}` : ""}
`;

/** `status.twins` with one desired temperature. */
export const desiredTwins = (value: string) => ({
  status: {
    twins: [{
      propertyName: "temperature",
      desired: { value, metadata: { type: "int" } },
      reported: { value: "0" },
    }],
  },
});

/** A v1beta1 DeviceModel manifest. */
export const currentModel = (name = "thermo-model", unit = "celsius") => `
apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata:
  name: ${name}
  namespace: default
spec:
  protocol: modbus
  properties:
  - name: temperature
    type: INT
    accessMode: ReadWrite
    maximum: "100"
    unit: ${unit}
  - name: mode
    type: STRING
    accessMode: ReadWrite
`;

/** A v1beta1 Device bound to `node` through nodeName. */
export const currentDevice = (name: string, node: string, model = "thermo-model") => `
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata:
  name: ${name}
  namespace: default
spec:
  deviceModelRef:
    name: ${model}
  nodeName: ${node}
  protocol:
    protocolName: modbus
  properties:
  - name: temperature
    desired:
      value: "22"
  - name: mode
`;

/** A twin/edge_updated content as the edge twin module builds it. */
export function edgeUpdated(
  values: Record<string, string>,
  ts = 1_700_000_000_123,
  expected?: Record<string, string>,
) {
  const twin: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) {
    twin[k] = {
      actual: { value: v, metadata: { timestamp: ts } },
      ...(expected?.[k] !== undefined
        ? { expected: { value: expected[k], metadata: { timestamp: ts } } }
        : {}),
      optional: false,
      metadata: { type: "int" },
    };
  }
  return { event_id: crypto.randomUUID(), timestamp: ts, twin };
}
