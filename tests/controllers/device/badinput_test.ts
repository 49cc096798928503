/**
 * Bad upstream input (issue 7, point 4): counted, logged, answered with an error response,
 * never crashing the controller or affecting other devices.
 */
import { assert, assertEquals, assertStringIncludes } from "../../assert.ts";
import type { Message } from "../../../modules/mod.ts";
import { parseUpstreamResource, TwinInputError } from "../../../controllers/device/mod.ts";
import { currentDevice, currentModel, edgeUpdated, startHarness } from "./harness.ts";

Deno.test("parseUpstreamResource: twin, state, membership/detail, foreign resources", () => {
  assertEquals(parseUpstreamResource("node/e1/device/default/d1/twin/edge_updated"), {
    node: "e1",
    kind: "twin",
    deviceId: "default/d1",
  });
  assertEquals(parseUpstreamResource("node/e1/device/d1/twin/edge_updated"), {
    node: "e1",
    kind: "twin",
    deviceId: "d1",
  });
  assertEquals(parseUpstreamResource("node/e1/device/ns/d/state/update").kind, "state");
  assertEquals(parseUpstreamResource("node/e1/membership/detail").kind, "membershipDetail");
  for (
    const r of ["node/e1/default/pod/x", "twin/edge_updated", "node/e1/device//twin/edge_updated"]
  ) {
    try {
      parseUpstreamResource(r);
      throw new Error(`accepted ${r}`);
    } catch (err) {
      assert(err instanceof TwinInputError, `${r}: ${err}`);
    }
  }
});

Deno.test("bad upstream input gets error responses and leaves other devices working", async () => {
  const h = await startHarness();
  try {
    await h.k(["apply", "-f", "-"], currentModel());
    await h.k(["apply", "-f", "-"], currentDevice("good", "edge-1"));
    await h.k(["apply", "-f", "-"], currentDevice("other", "edge-2"));
    await h.waitSent(
      (m) => m.route.resource === "node/edge-2/default/device/other",
      "devices sent",
    );

    const errorFor = async (req: Message, includes: string) => {
      const e = await h.waitSent(
        (m) => m.header.parentId === req.header.id,
        `error for ${includes}`,
      );
      assertEquals(e.route.operation, "response");
      assertEquals(e.route.source, "devicecontroller");
      assertEquals(e.route.group, "twin");
      assertEquals(e.route.resource, `node/${req.route.resource!.split("/")[1]}/twin`);
      const status = (e.content as { ErrStatus: { status: string; code: number; message: string } })
        .ErrStatus;
      assertEquals(status.status, "Failure");
      assertEquals(status.code, 400);
      assertStringIncludes(status.message, includes);
    };
    const twin = "device/default/good/twin/edge_updated";

    await errorFor(
      await h.upstream(
        "edge-1",
        "device/default/nope/twin/edge_updated",
        edgeUpdated({ temperature: "1" }),
      ),
      "nope",
    );
    // A device of another node: not this edge's to report.
    await errorFor(
      await h.upstream(
        "edge-1",
        "device/default/other/twin/edge_updated",
        edgeUpdated({ temperature: "1" }),
      ),
      "not bound",
    );
    await errorFor(await h.upstream("edge-1", twin, edgeUpdated({ pressure: "3" })), "pressure");
    await errorFor(await h.upstream("edge-1", twin, "{not json"), "not JSON");
    await errorFor(await h.upstream("edge-1", twin, [1, 2]), "not a JSON object");
    await errorFor(
      await h.upstream("edge-1", twin, { twin: { temperature: { actual: { value: 42 } } } }),
      "must be a string",
    );
    await errorFor(
      await h.upstream("edge-1", twin, {
        twin: { temperature: { actual: { value: "1", metadata: { timestamp: "x" } } } },
      }),
      "timestamp",
    );
    await errorFor(
      await h.upstream("edge-1", twin, edgeUpdated({ temperature: "hot" })),
      "not an int",
    );
    await errorFor(
      await h.upstream(
        "edge-1",
        "device/default/good/state/update",
        JSON.stringify({ device: { state: 5 } }),
      ),
      "state must be a string",
    );
    await errorFor(
      await h.upstream("edge-1", "device/default/good/nothing", {}),
      "not for the device controller",
    );

    const s = h.dc.stats().upstream;
    assertEquals(s.rejected, {
      unknownResource: 1,
      unknownDevice: 2,
      malformed: 2,
      wrongType: 4,
      unknownProperty: 1,
    });

    // A partly valid message: the valid property is stored, the unknown one is counted.
    const mixed = await h.upstream(
      "edge-1",
      twin,
      edgeUpdated({ temperature: "21", pressure: "9" }),
    );
    await h.waitSent(
      (m) => m.header.parentId === mixed.header.id && m.content === "OK",
      "OK for mixed",
    );
    assertEquals(h.dc.stats().upstream.rejectedProperties >= 1, true);
    // The other device still works.
    const ok = await h.upstream(
      "edge-2",
      "device/default/other/twin/edge_updated",
      edgeUpdated({ temperature: "3" }),
    );
    await h.waitSent(
      (m) => m.header.parentId === ok.header.id && m.content === "OK",
      "OK for other",
    );
    const ds = JSON.parse(await h.k(["get", "devicestatus", "good", "-o", "json"]));
    assertEquals(ds.status.twins.map((t: { propertyName: string }) => t.propertyName), [
      "temperature",
    ]);
    assertEquals(ds.status.twins[0].reported.value, "21");
    // membership/detail is accepted and ignored.
    await h.upstream("edge-1", "membership/detail", { event_id: "x", timestamp: 1 });
  } finally {
    await h.close();
  }
});
