/** The `leaderElection` config extension: defaults and the client-go duration rules. */
import { defaultConfig } from "../../config/defaults.ts";
import { configErrors } from "../../config/validate.ts";
import { assertEquals } from "../assert.ts";

const opts = { fileExists: () => true };

function errorsFor(patch: Record<string, unknown>): string[] {
  const cfg = defaultConfig({ hostAddresses: ["127.0.0.1"] });
  Object.assign(cfg.leaderElection, patch);
  return configErrors(cfg, "c.yaml", opts)
    .map((e) => e.field ?? "")
    .filter((f) => f.startsWith("leaderElection"));
}

Deno.test("leaderElection: enabled by default with client-go's durations", () => {
  const cfg = defaultConfig({ hostAddresses: ["127.0.0.1"] });
  assertEquals(cfg.leaderElection, {
    enable: true,
    leaseDuration: 15,
    renewDeadline: 10,
    retryPeriod: 2,
    resourceNamespace: "kubeedge",
    resourceName: "edgecloud-controllers",
  });
  assertEquals(errorsFor({}), []);
});

Deno.test("leaderElection: inconsistent durations and empty names are config errors", () => {
  assertEquals(errorsFor({ leaseDuration: 3, renewDeadline: 2, retryPeriod: 1 }), []);
  assertEquals(errorsFor({ leaseDuration: 10, renewDeadline: 10 }), [
    "leaderElection.leaseDuration",
  ]);
  assertEquals(errorsFor({ renewDeadline: 2, retryPeriod: 2 }), ["leaderElection.renewDeadline"]);
  assertEquals(errorsFor({ retryPeriod: 0 }), ["leaderElection.retryPeriod"]);
  assertEquals(errorsFor({ resourceName: "" }), ["leaderElection.resourceName"]);
});
