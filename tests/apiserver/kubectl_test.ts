/** Drives the embedded API with the real kubectl binary. */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { assertMatch, kubectl, kubectlOk, startTestApi, waitFor } from "./helpers.ts";

const POD = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: c1
    image: nginx:1.25
    ports: [{containerPort: 80}]
  - name: c2
    image: busybox:1
`;

Deno.test("kubectl: discovery, default namespaces and preinstalled KubeEdge CRDs", async () => {
  const api = await startTestApi();
  try {
    const ns = await kubectlOk(api, ["get", "ns", "-o", "name"]);
    for (const n of ["default", "kube-system", "kube-node-lease", "kubeedge"]) {
      assertMatch(ns, new RegExp(`namespace/${n}\\b`));
    }
    const crds = await kubectlOk(api, ["get", "crd", "-o", "name"]);
    for (
      const c of [
        "devices.devices.kubeedge.io",
        "devicemodels.devices.kubeedge.io",
        "objectsyncs.reliablesyncs.kubeedge.io",
        "clusterobjectsyncs.reliablesyncs.kubeedge.io",
      ]
    ) {
      assertMatch(crds, new RegExp(c));
    }
    const res = await kubectlOk(api, ["api-resources", "-o", "name"]);
    for (
      const r of [
        "pods",
        "nodes",
        "leases.coordination.k8s.io",
        "devices.devices.kubeedge.io",
        "objectsyncs.reliablesyncs.kubeedge.io",
      ]
    ) {
      assertMatch(res, new RegExp(`^${r.replaceAll(".", "\\.")}$`, "m"));
    }
    assertMatch(await kubectlOk(api, ["explain", "pods"]), /KIND:\s+Pod/);
    assertMatch(await kubectlOk(api, ["explain", "devices"]), /KIND:\s+Device/);
    const version = await kubectlOk(api, ["version", "-o", "json"]);
    assertEquals(JSON.parse(version).serverVersion.major, "1");
  } finally {
    await api.dispose();
  }
});

Deno.test("kubectl: pods create/get/apply/patch (3 types)/label/delete", async () => {
  const api = await startTestApi();
  try {
    await kubectlOk(api, ["create", "-f", "-"], POD);
    const got = JSON.parse(await kubectlOk(api, ["get", "pod", "web", "-o", "json"]));
    assertEquals(got.status.phase, "Pending");
    assert(got.metadata.uid && got.metadata.creationTimestamp && got.metadata.resourceVersion);
    const list = JSON.parse(await kubectlOk(api, ["get", "pods", "-o", "json"]));
    assertEquals(list.items.length, 1);
    // apply: annotation round trip, then a change that drops c2 (strategic $patch: delete)
    await kubectlOk(api, ["apply", "-f", "-"], POD);
    await kubectlOk(
      api,
      ["apply", "-f", "-"],
      POD.replace("nginx:1.25", "nginx:1.26").replace("  - name: c2\n    image: busybox:1\n", ""),
    );
    let pod = JSON.parse(await kubectlOk(api, ["get", "pod", "web", "-o", "json"]));
    assertEquals(pod.spec.containers.map((c: { image: string }) => c.image), ["nginx:1.26"]);
    assertMatch(
      pod.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"],
      /nginx:1\.26/,
    );
    await kubectlOk(api, ["label", "pod", "web", "tier=front"]);
    await kubectlOk(api, [
      "patch",
      "pod",
      "web",
      "--type",
      "merge",
      "-p",
      '{"metadata":{"labels":{"m":"1"}}}',
    ]);
    await kubectlOk(api, [
      "patch",
      "pod",
      "web",
      "--type",
      "json",
      "-p",
      '[{"op":"add","path":"/metadata/labels/j","value":"2"}]',
    ]);
    await kubectlOk(api, [
      "patch",
      "pod",
      "web",
      "--type",
      "strategic",
      "-p",
      '{"spec":{"containers":[{"name":"c1","image":"nginx:1.27"}]}}',
    ]);
    pod = JSON.parse(await kubectlOk(api, ["get", "pod", "web", "-o", "json"]));
    assertEquals(pod.metadata.labels, { app: "web", tier: "front", m: "1", j: "2" });
    assertEquals(pod.spec.containers.length, 1);
    assertEquals(pod.spec.containers[0].image, "nginx:1.27");
    assertEquals(pod.spec.containers[0].ports, [{ containerPort: 80, protocol: "TCP" }]);
    const sel = await kubectlOk(api, ["get", "pods", "-l", "tier=front", "-o", "name"]);
    assertEquals(sel.trim(), "pod/web");
    const none = await kubectlOk(api, ["get", "pods", "-l", "tier!=front", "-o", "name"]);
    assertEquals(none.trim(), "");
    await kubectlOk(api, ["delete", "pod", "web"]);
    const after = await kubectl(api, ["get", "pod", "web"]);
    assertEquals(after.code, 1);
    assertMatch(after.stderr, /NotFound/);
  } finally {
    await api.dispose();
  }
});

Deno.test("kubectl: nodes, configmaps, secrets, services and devices", async () => {
  const api = await startTestApi();
  try {
    await kubectlOk(
      api,
      ["create", "-f", "-"],
      `apiVersion: v1
kind: Node
metadata: {name: edge-1, labels: {node-role.kubernetes.io/edge: ""}}
status:
  conditions: [{type: Ready, status: "True"}]
`,
    );
    const nodes = await kubectlOk(api, ["get", "nodes"]);
    assertMatch(nodes, /edge-1\s+Ready\s+edge/);
    await kubectlOk(api, [
      "patch",
      "node",
      "edge-1",
      "--subresource",
      "status",
      "--type",
      "strategic",
      "-p",
      '{"status":{"conditions":[{"type":"Ready","status":"False"}]}}',
    ]);
    assertMatch(await kubectlOk(api, ["get", "nodes"]), /edge-1\s+NotReady/);

    await kubectlOk(
      api,
      ["apply", "-f", "-"],
      `apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {a: "1"}
---
apiVersion: v1
kind: Secret
metadata: {name: sec}
stringData: {password: hunter2}
---
apiVersion: v1
kind: Service
metadata: {name: svc}
spec:
  selector: {app: web}
  ports: [{port: 80}]
`,
    );
    const sec = JSON.parse(await kubectlOk(api, ["get", "secret", "sec", "-o", "json"]));
    assertEquals(atob(sec.data.password), "hunter2");
    assertEquals(sec.type, "Opaque");
    const svc = JSON.parse(await kubectlOk(api, ["get", "svc", "svc", "-o", "json"]));
    assertMatch(svc.spec.clusterIP, /^10\.96\./);
    assertEquals(svc.spec.ports[0].targetPort, 80);
    await kubectlOk(api, ["patch", "cm", "cfg", "--type", "merge", "-p", '{"data":{"b":"2"}}']);
    assertEquals(JSON.parse(await kubectlOk(api, ["get", "cm", "cfg", "-o", "json"])).data, {
      a: "1",
      b: "2",
    });
    await kubectlOk(api, ["patch", "svc", "svc", "-p", '{"spec":{"ports":[{"port":81}]}}']);
    assertEquals(
      JSON.parse(await kubectlOk(api, ["get", "svc", "svc", "-o", "json"])).spec.ports.map((
        p: { port: number },
      ) => p.port),
      [80, 81],
    );

    const device = `apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: {name: thermo}
spec:
  deviceModelRef: {name: model}
  nodeName: edge-1
  properties: [{name: temp, desired: {value: "20"}}]
`;
    await kubectlOk(api, ["apply", "-f", "-"], device);
    await kubectlOk(api, ["apply", "-f", "-"], device.replace('"20"', '"21"'));
    await kubectlOk(api, [
      "patch",
      "device",
      "thermo",
      "--type",
      "merge",
      "-p",
      '{"metadata":{"labels":{"a":"b"}}}',
    ]);
    await kubectlOk(api, [
      "patch",
      "device",
      "thermo",
      "--type",
      "json",
      "-p",
      '[{"op":"replace","path":"/spec/nodeName","value":"edge-2"}]',
    ]);
    await kubectlOk(api, [
      "patch",
      "device",
      "thermo",
      "--type",
      "strategic",
      "-p",
      '{"spec":{"protocol":{"protocolName":"modbus"}}}',
    ]);
    // KubeEdge's device CRDs have no status subresource: /status is a 404 as on a real cluster,
    // and status is written on the main resource (`kubectl edit device`).
    const sub = await kubectl(api, [
      "patch",
      "device",
      "thermo",
      "--subresource",
      "status",
      "--type",
      "merge",
      "-p",
      '{"status":{"reportCycle":5}}',
    ]);
    assertEquals(sub.code, 1);
    assertStringIncludes(sub.stderr, "NotFound");
    await kubectlOk(api, [
      "patch",
      "device",
      "thermo",
      "--type",
      "merge",
      "-p",
      '{"status":{"reportCycle":5}}',
    ]);
    await kubectlOk(api, ["label", "device", "thermo", "zone=z1"]);
    const dev = JSON.parse(await kubectlOk(api, ["get", "device", "thermo", "-o", "json"]));
    assertEquals(dev.spec.nodeName, "edge-2");
    assertEquals(dev.spec.properties[0].desired.value, "21");
    assertEquals(dev.spec.protocol.protocolName, "modbus");
    assertEquals(dev.status, { reportCycle: 5 });
    assertEquals(dev.metadata.labels, { a: "b", zone: "z1" });
    const alpha = JSON.parse(
      await kubectlOk(api, ["get", "devices.v1alpha2.devices.kubeedge.io", "thermo", "-o", "json"]),
    );
    assertEquals(alpha.apiVersion, "devices.kubeedge.io/v1alpha2");
    for (
      const [kind, name] of [
        ["device", "thermo"],
        ["svc", "svc"],
        ["secret", "sec"],
        ["cm", "cfg"],
        ["node", "edge-1"],
      ]
    ) {
      await kubectlOk(api, ["delete", kind, name]);
    }
    assertEquals((await kubectlOk(api, ["get", "devices", "-o", "name"])).trim(), "");
  } finally {
    await api.dispose();
  }
});

Deno.test("kubectl: get -w streams adds, updates and deletes", async () => {
  const api = await startTestApi();
  try {
    await kubectlOk(
      api,
      ["create", "-f", "-"],
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: w1}\ndata: {a: "1"}\n`,
    );
    const child = new Deno.Command("kubectl", {
      args: [
        "--kubeconfig",
        api.kubeconfigPath,
        "get",
        "cm",
        "-w",
        "-o",
        "json",
        "--output-watch-events",
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    const events = () =>
      (buf.match(/"type": ?"[A-Z]+"/g) ?? []).map((e) => e.replace(/[^A-Z]/g, ""));
    const readUntil = async (n: number) => {
      while (events().length < n) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
      }
    };
    await readUntil(1);
    await kubectlOk(api, ["label", "cm", "w1", "x=y"]);
    await readUntil(2);
    await kubectlOk(api, ["delete", "cm", "w1"]);
    await readUntil(3);
    assertEquals(events(), ["ADDED", "MODIFIED", "DELETED"]);
    child.kill("SIGTERM");
    await reader.cancel();
    await child.stderr.cancel();
    await child.status;
  } finally {
    await api.dispose();
  }
});

Deno.test("kubectl: namespace deletion removes its content", async () => {
  const api = await startTestApi();
  try {
    await kubectlOk(
      api,
      ["create", "-f", "-"],
      `apiVersion: v1\nkind: Namespace\nmetadata: {name: tmp}\n`,
    );
    await kubectlOk(
      api,
      ["create", "-n", "tmp", "-f", "-"],
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n`,
    );
    await kubectlOk(api, ["delete", "ns", "tmp"]);
    await waitFor(
      async () => (await kubectl(api, ["get", "ns", "tmp"])).code !== 0,
      "namespace gone",
    );
    assertEquals((await kubectlOk(api, ["get", "cm", "-A", "-o", "name"])).trim(), "");
  } finally {
    await api.dispose();
  }
});

Deno.test("kubectl: typed-client commands that send protobuf bodies (create ns/cm/secret/svc/sa/token, certificate approve)", async () => {
  const api = await startTestApi();
  try {
    await kubectlOk(api, ["create", "namespace", "proto"]);
    await kubectlOk(api, ["-n", "proto", "create", "configmap", "cm", "--from-literal=a=b"]);
    await kubectlOk(api, ["-n", "proto", "create", "secret", "generic", "s", "--from-literal=p=q"]);
    await kubectlOk(api, ["-n", "proto", "create", "service", "nodeport", "svc", "--tcp=80:8080"]);
    await kubectlOk(api, ["-n", "proto", "create", "serviceaccount", "sa"]);
    const token = (await kubectlOk(api, ["-n", "proto", "create", "token", "sa"])).trim();
    assertEquals(token.split(".").length, 3);
    assertEquals(
      JSON.parse(await kubectlOk(api, ["-n", "proto", "get", "cm", "cm", "-o", "json"])).data,
      { a: "b" },
    );
    assertEquals(
      JSON.parse(await kubectlOk(api, ["-n", "proto", "get", "secret", "s", "-o", "json"])).data,
      { p: btoa("q") },
    );
    const svc = JSON.parse(
      await kubectlOk(api, ["-n", "proto", "get", "svc", "svc", "-o", "json"]),
    );
    assertEquals([svc.spec.type, svc.spec.ports[0].port, svc.spec.ports[0].targetPort], [
      "NodePort",
      80,
      8080,
    ]);
    assert(svc.spec.ports[0].nodePort >= 30000);
    await kubectlOk(
      api,
      ["apply", "-f", "-"],
      `apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata: {name: c1}
spec:
  request: ${btoa("not a real CSR")}
  signerName: kubernetes.io/kube-apiserver-client
  usages: [client auth]
`,
    );
    await kubectlOk(api, ["certificate", "approve", "c1"]);
    const csr = JSON.parse(await kubectlOk(api, ["get", "csr", "c1", "-o", "json"]));
    assertEquals(csr.status.conditions[0].type, "Approved");
    assertEquals(csr.spec.usages, ["client auth"]);
  } finally {
    await api.dispose();
  }
});
