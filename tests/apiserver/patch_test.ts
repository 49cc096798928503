/** Patch flavours: JSON merge, JSON patch and strategic merge with kubectl's directives. */
import { assertEquals, assertThrows } from "../assert.ts";
import { jsonPatch, mergePatch, strategicMergePatch } from "../../apiserver/patch.ts";
import { ApiError } from "../../apiserver/errors.ts";

const builtin = { builtinKeys: true };

Deno.test("merge patch: null deletes, objects merge, lists replace", () => {
  assertEquals(
    mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, { a: null, b: { c: 9 }, l: [3] }),
    { b: { c: 9, d: 3 }, l: [3] },
  );
});

Deno.test("json patch: ops apply; failed test is 422; malformed is 400", () => {
  assertEquals(jsonPatch({ a: [1] }, [{ op: "add", path: "/a/-", value: 2 }]), { a: [1, 2] });
  const e1 = assertThrows(
    () => jsonPatch({ a: 1 }, [{ op: "test", path: "/a", value: 2 }]),
    ApiError,
  );
  assertEquals((e1 as ApiError).code, 422);
  const e2 = assertThrows(() => jsonPatch({}, { op: "add" }), ApiError);
  assertEquals((e2 as ApiError).code, 400);
});

Deno.test("strategic merge: containers by name, ports by containerPort, conditions by type", () => {
  const pod = {
    spec: {
      containers: [
        {
          name: "a",
          image: "a:1",
          ports: [{ containerPort: 80 }],
          env: [{ name: "X", value: "1" }],
        },
        { name: "b", image: "b:1" },
      ],
    },
    status: {
      conditions: [{ type: "Ready", status: "False" }, { type: "Scheduled", status: "True" }],
    },
  };
  const out = strategicMergePatch(pod, {
    spec: {
      containers: [
        {
          name: "a",
          image: "a:2",
          ports: [{ containerPort: 443 }],
          env: [{ name: "Y", value: "2" }],
        },
        { name: "b", $patch: "delete" },
        { name: "c", image: "c:1" },
      ],
    },
    status: { conditions: [{ type: "Ready", status: "True" }] },
  }, builtin) as typeof pod;
  assertEquals(
    out.spec.containers,
    [
      {
        name: "a",
        image: "a:2",
        ports: [{ containerPort: 80 }, { containerPort: 443 }],
        env: [{ name: "X", value: "1" }, { name: "Y", value: "2" }],
      },
      { name: "c", image: "c:1" },
    ] as typeof pod.spec.containers,
  );
  assertEquals(out.status.conditions, [{ type: "Ready", status: "True" }, {
    type: "Scheduled",
    status: "True",
  }]);
});

Deno.test("strategic merge: $setElementOrder, $retainKeys, $patch replace, $deleteFromPrimitiveList, finalizers union", () => {
  const orig = {
    metadata: { finalizers: ["a", "b"] },
    spec: {
      containers: [{ name: "x" }, { name: "y" }],
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } },
      nodeSelector: { a: "1", b: "2" },
    },
  };
  const out = strategicMergePatch(orig, {
    metadata: { finalizers: ["c"], "$deleteFromPrimitiveList/finalizers": ["a"] },
    spec: {
      "$setElementOrder/containers": [{ name: "y" }, { name: "x" }],
      strategy: { $retainKeys: ["type"], type: "Recreate" },
      nodeSelector: { $patch: "replace", c: "3" },
    },
  }, builtin);
  assertEquals(out, {
    metadata: { finalizers: ["b", "c"] },
    spec: {
      containers: [{ name: "y" }, { name: "x" }],
      strategy: { type: "Recreate" },
      nodeSelector: { c: "3" },
    },
  });
});

Deno.test("strategic merge on custom resources replaces lists", () => {
  assertEquals(
    strategicMergePatch({ spec: { properties: [{ name: "a" }] } }, {
      spec: { properties: [{ name: "b" }] },
    }, {
      builtinKeys: false,
    }),
    { spec: { properties: [{ name: "b" }] } },
  );
});

Deno.test("strategic merge: only the four directives are special; other $ keys are data", () => {
  const out = strategicMergePatch(
    { data: { a: "1" } },
    { data: { "$": "x", "$ref": "y", "$setElementOrder/none": [] }, $extra: { k: "v" } },
    builtin,
  );
  assertEquals(out, { data: { a: "1", "$": "x", "$ref": "y" }, $extra: { k: "v" } });
});
