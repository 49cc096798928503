import { assertEquals } from "../../assert.ts";
import { mergePodStatus, sortInitContainerStatuses } from "../../../controllers/edge/podstatus.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const NOW = Date.parse("2026-12-01T12:00:00.750Z");
const NOW_S = "2026-12-01T12:00:00Z";
const OLD_T = "2026-11-30T08:00:00Z";
const EDGE_T = "2026-12-01T11:59:58Z";

function cond(type: string, status: string, lastTransitionTime?: string): Json {
  return lastTransitionTime ? { type, status, lastTransitionTime } : { type, status };
}

function byType(status: Json, type: string): Json {
  return status.conditions.find((c: Json) => c.type === type);
}

Deno.test("mergePodStatus: Ready and Initialized keep the old lastTransitionTime while their status is unchanged", () => {
  const old = { conditions: [cond("Ready", "True", OLD_T), cond("Initialized", "True", OLD_T)] };
  const got: Json = mergePodStatus(old, {
    conditions: [cond("Initialized", "True", EDGE_T), cond("Ready", "True", EDGE_T)],
  }, NOW);
  assertEquals(byType(got, "Ready").lastTransitionTime, OLD_T);
  assertEquals(byType(got, "Initialized").lastTransitionTime, OLD_T);
  // The reported order stays.
  assertEquals(got.conditions.map((c: Json) => c.type), ["Initialized", "Ready"]);
});

Deno.test("mergePodStatus: Ready and Initialized become now when their status changed or they are new", () => {
  const old = { conditions: [cond("Ready", "False", OLD_T)] };
  const got: Json = mergePodStatus(old, {
    conditions: [cond("Ready", "True", EDGE_T), cond("Initialized", "True", EDGE_T)],
  }, NOW);
  assertEquals(byType(got, "Ready").lastTransitionTime, NOW_S);
  assertEquals(byType(got, "Initialized").lastTransitionTime, NOW_S);
  // Reported without a time: set all the same.
  const bare = mergePodStatus(undefined, { conditions: [cond("Ready", "True")] }, NOW);
  assertEquals(byType(bare, "Ready").lastTransitionTime, NOW_S);
});

Deno.test("mergePodStatus: an unchanged Ready whose old lastTransitionTime was unset stays unset (null), as cloudcore copies the zero time", () => {
  const got: Json = mergePodStatus({ conditions: [cond("Ready", "True")] }, {
    conditions: [cond("Ready", "True", EDGE_T)],
  }, NOW);
  assertEquals(byType(got, "Ready").lastTransitionTime, null);
});

Deno.test("mergePodStatus: every other condition keeps the lastTransitionTime the edge sent, changed or not", () => {
  const old = {
    conditions: [
      cond("ContainersReady", "True", OLD_T),
      cond("PodScheduled", "True", OLD_T),
      cond("PodReadyToStartContainers", "False", OLD_T),
    ],
  };
  const got: Json = mergePodStatus(old, {
    conditions: [
      cond("ContainersReady", "True", EDGE_T), // same status: still the edge's time
      cond("PodScheduled", "True"), // no time reported: none set
      cond("PodReadyToStartContainers", "True", "2026-12-01T11:59:57.9+01:00"), // normalised only
      cond("example.com/gate", "True", EDGE_T), // a readiness gate
    ],
  }, NOW);
  assertEquals(byType(got, "ContainersReady").lastTransitionTime, EDGE_T);
  assertEquals(byType(got, "PodScheduled").lastTransitionTime, undefined);
  assertEquals(byType(got, "PodReadyToStartContainers").lastTransitionTime, "2026-12-01T10:59:57Z");
  assertEquals(byType(got, "example.com/gate").lastTransitionTime, EDGE_T);
});

Deno.test("mergePodStatus: no condition is kept from the old status; only the first Ready is recomputed", () => {
  const old = {
    conditions: [cond("PodScheduled", "True", OLD_T), cond("Ready", "True", OLD_T)],
  };
  const got: Json = mergePodStatus(old, {
    conditions: [cond("Ready", "True", EDGE_T), cond("Ready", "True", EDGE_T)],
  }, NOW);
  assertEquals(got.conditions.map((c: Json) => c.type), ["Ready", "Ready"]);
  assertEquals(got.conditions[0].lastTransitionTime, OLD_T);
  assertEquals(got.conditions[1].lastTransitionTime, EDGE_T);
  // No conditions reported: none stored.
  assertEquals(mergePodStatus(old, { phase: "Running" }, NOW).conditions, undefined);
});

Deno.test("mergePodStatus: startTime is the old one, else the reported one, else now", () => {
  assertEquals(mergePodStatus({ startTime: OLD_T }, { startTime: EDGE_T }, NOW).startTime, OLD_T);
  assertEquals(
    mergePodStatus({}, { startTime: "2026-12-01T11:59:58.5Z" }, NOW).startTime,
    EDGE_T,
  );
  assertEquals(mergePodStatus({}, {}, NOW).startTime, NOW_S);
});

Deno.test("mergePodStatus: initContainerStatuses keep the pod spec order (not by name); containerStatuses sort by byte order; ephemeral ones stay", () => {
  const initContainers = [{ name: "zz-migrate" }, { name: "b-wait" }, { name: "a-copy" }];
  const got: Json = mergePodStatus(
    {},
    {
      initContainerStatuses: [{ name: "zz-migrate" }, { name: "b-wait" }, { name: "a-copy" }],
      containerStatuses: [{ name: "app" }, { name: "Sidecar" }, { name: "db" }],
      ephemeralContainerStatuses: [{ name: "dbg-2" }, { name: "dbg-1" }],
    },
    NOW,
    initContainers,
  );
  assertEquals(got.initContainerStatuses.map((c: Json) => c.name), [
    "zz-migrate",
    "b-wait",
    "a-copy",
  ]);
  // Go compares bytes: "S" (0x53) sorts before "a" (0x61).
  assertEquals(got.containerStatuses.map((c: Json) => c.name), ["Sidecar", "app", "db"]);
  assertEquals(got.ephemeralContainerStatuses.map((c: Json) => c.name), ["dbg-2", "dbg-1"]);
  // Reported out of spec order: put back in spec order.
  const shuffled: Json = mergePodStatus(
    {},
    {
      initContainerStatuses: [{ name: "a-copy" }, { name: "zz-migrate" }, { name: "b-wait" }],
    },
    NOW,
    initContainers,
  );
  assertEquals(shuffled.initContainerStatuses.map((c: Json) => c.name), [
    "zz-migrate",
    "b-wait",
    "a-copy",
  ]);
  // Without the spec (old callers): left as reported.
  const noSpec: Json = mergePodStatus({}, {
    initContainerStatuses: [{ name: "b" }, { name: "a" }],
  }, NOW);
  assertEquals(noSpec.initContainerStatuses.map((c: Json) => c.name), ["b", "a"]);
});

Deno.test("sortInitContainerStatuses: KubeEdge's swap walk; statuses of unknown containers go behind", () => {
  const statuses: Json[] = [{ name: "x" }, { name: "c" }, { name: "y" }, { name: "a" }];
  sortInitContainerStatuses([{ name: "a" }, { name: "b" }, { name: "c" }], statuses);
  // a swaps with x (slot 0), b is missing, c is already in slot 1: [a, c, y, x].
  assertEquals(statuses.map((s) => s.name), ["a", "c", "y", "x"]);
});

Deno.test("mergePodStatus: container state times are normalised to RFC 3339 seconds (UTC)", () => {
  const got: Json = mergePodStatus(
    {},
    {
      containerStatuses: [{
        name: "c",
        state: { terminated: { startedAt: "2026-12-01T11:00:00.9Z", finishedAt: EDGE_T } },
        lastState: { running: { startedAt: "2026-12-01T12:00:00+02:00" } },
      }],
      initContainerStatuses: [{
        name: "i",
        state: { running: { startedAt: "2026-12-01T09:00:00.1Z" } },
      }],
    },
    NOW,
    [{ name: "i" }],
  );
  assertEquals(got.containerStatuses[0].state.terminated.startedAt, "2026-12-01T11:00:00Z");
  assertEquals(got.containerStatuses[0].lastState.running.startedAt, "2026-12-01T10:00:00Z");
  assertEquals(got.initContainerStatuses[0].state.running.startedAt, "2026-12-01T09:00:00Z");
});
