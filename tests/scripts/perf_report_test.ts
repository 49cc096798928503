import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { render } from "../../scripts/perf_report.ts";

type BenchResult = Parameters<typeof render>[0][number];

const machine: BenchResult["machine"] = {
  nproc: 2,
  memTotalMiB: 1024,
  cpuModel: "test",
  deno: "2",
  v8: "1",
  os: "linux",
  fdSoftLimit: "1024",
};
const result = (scenario: string, compare?: string[][]): BenchResult => ({
  scenario,
  command: `deno task bench:${scenario}`,
  date: "2026-12-04T00:00:00Z",
  machine,
  headline: {},
  table: [["a", "b"], ["1", "2"]],
  targets: [],
  compare,
});

Deno.test("perf report: cloudcore beside edgecloud, with its version, and where it did not run", () => {
  const md = render([
    result("sessions", [
      ["figure", "edgecloud", "cloudcore v1.23.1", "edgecloud / cloudcore"],
      ["RSS per session, KB", "40.0", "150.0", "0.27"],
    ]),
    result("latency", [
      ["figure", "edgecloud", "cloudcore", "edgecloud / cloudcore"],
      ["p99, ms", "20.00", "not run", "-"],
    ]),
    result("storm"),
  ]);
  assertStringIncludes(md, "## edgecloud beside cloudcore");
  assertStringIncludes(
    md,
    "| sessions | RSS per session, KB | 40.0 | 150.0 (cloudcore v1.23.1) | 0.27 |",
  );
  assertStringIncludes(md, "cloudcore not run in the latest result of: latency, storm");
  // The command says how cloudcore was given, where it ran.
  assertStringIncludes(
    md,
    "CLOUDCORE_BIN=/path/to/cloudcore CLOUDCORE_VERSION=v1.23.1 deno task bench:sessions",
  );
  assert(
    !md.includes(
      "CLOUDCORE_BIN=/path/to/cloudcore CLOUDCORE_VERSION=v1.23.1 deno task bench:latency",
    ),
  );
  // Each scenario's own section shows its comparison table too.
  assertEquals(md.split("| RSS per session, KB | 40.0 | 150.0 | 0.27 |").length, 2);
});

Deno.test("perf report: a storm at another fleet size sorts beside the storm", () => {
  const md = render([result("storm"), result("twins"), result("storm-n1000"), result("sessions")]);
  const at = (s: string) => md.indexOf(`## ${s}\n`);
  assert(at("sessions") < at("storm") && at("storm") < at("storm-n1000"));
  assert(at("storm-n1000") < at("twins"));
});
