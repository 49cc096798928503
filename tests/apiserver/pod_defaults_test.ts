/** Pod defaults as kube-apiserver applies them; real kubelets refuse volumes without them. */
import { assertEquals } from "../assert.ts";
import { rawRequest, startTestApi } from "./helpers.ts";
import { admitPodSpec, defaultPodSpec, podQosClass } from "../../apiserver/pod_defaults.ts";

const PODS = "/api/v1/namespaces/default/pods";

Deno.test("pod create: volume modes, field refs, probes, tolerations, service account", async () => {
  const api = await startTestApi();
  try {
    const pod = {
      metadata: { name: "p" },
      spec: {
        nodeName: "edge-1",
        containers: [{
          name: "c",
          image: "registry.local:5000/app",
          env: [{ name: "N", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }],
          readinessProbe: { httpGet: { port: 80 } },
          resources: { limits: { cpu: "1", memory: "1Gi" } },
        }],
        volumes: [
          { name: "cm", configMap: { name: "cm1" } },
          { name: "s", secret: { secretName: "s1", defaultMode: 0o400 } },
          { name: "d", downwardAPI: { items: [{ path: "n", fieldRef: { fieldPath: "x" } }] } },
          { name: "h", hostPath: { path: "/data" } },
          { name: "e" },
        ],
      },
    };
    const res = await rawRequest(api, "POST", PODS, JSON.stringify(pod));
    assertEquals(res.status, 201);
    const spec = res.json.spec as Record<string, unknown>;
    const volumes = spec.volumes as Record<string, Record<string, unknown>>[];
    assertEquals(volumes[0].configMap.defaultMode, 420);
    assertEquals(volumes[1].secret.defaultMode, 0o400, "a given mode is kept");
    assertEquals(volumes[2].downwardAPI.defaultMode, 420);
    assertEquals(
      (volumes[2].downwardAPI.items as Record<string, Record<string, unknown>>[])[0].fieldRef
        .apiVersion,
      "v1",
    );
    assertEquals(volumes[3].hostPath.type, "");
    assertEquals(volumes[4].emptyDir, {});
    const c = (spec.containers as Record<string, unknown>[])[0] as Record<
      string,
      Record<string, unknown>
    >;
    assertEquals(c.imagePullPolicy as unknown, "Always", "a registry port is not a tag");
    assertEquals(c.resources.requests, { cpu: "1", memory: "1Gi" });
    assertEquals(c.readinessProbe, {
      httpGet: { port: 80, path: "/", scheme: "HTTP" },
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    });
    assertEquals(
      (c.env as unknown as Record<string, Record<string, Record<string, unknown>>>[])[0]
        .valueFrom.fieldRef.apiVersion,
      "v1",
    );
    assertEquals(spec.serviceAccountName, "default");
    assertEquals(spec.serviceAccount, "default");
    assertEquals(spec.tolerations, [
      {
        key: "node.kubernetes.io/not-ready",
        operator: "Exists",
        effect: "NoExecute",
        tolerationSeconds: 300,
      },
      {
        key: "node.kubernetes.io/unreachable",
        operator: "Exists",
        effect: "NoExecute",
        tolerationSeconds: 300,
      },
    ]);
    assertEquals((res.json.status as Record<string, unknown>).qosClass, "Guaranteed");
  } finally {
    await api.dispose();
  }
});

Deno.test("pod defaults: a matching toleration is kept and not doubled", () => {
  const spec: Record<string, unknown> = {
    containers: [{ name: "c", image: "a:1", resources: { requests: { cpu: "1" } } }],
    tolerations: [{ operator: "Exists" }],
  };
  defaultPodSpec(spec);
  admitPodSpec(spec);
  assertEquals(spec.tolerations, [{ operator: "Exists" }]);
  assertEquals((spec.containers as Record<string, unknown>[])[0].imagePullPolicy, "IfNotPresent");
  assertEquals(podQosClass(spec), "Burstable");
  assertEquals(podQosClass({ containers: [{ name: "c" }] }), "BestEffort");
});
