/** CronJob schedules: five fields, descriptors, @every, time zones, and what Kubernetes refuses. */
import { assertEquals, assertThrows } from "../assert.ts";
import {
  CronSyntaxError,
  isValidTimeZone,
  parseCronSchedule,
  parseGoDuration,
} from "../../lib/mod.ts";

const at = (iso: string) => new Date(iso);

Deno.test("parseCronSchedule: next times of fields and descriptors, strictly after", () => {
  const every5 = parseCronSchedule("*/5 * * * *");
  assertEquals(every5.next(at("2026-01-01T00:35:00Z")), at("2026-01-01T00:40:00Z"));
  assertEquals(every5.next(at("2026-01-01T00:34:59Z")), at("2026-01-01T00:35:00Z"));
  assertEquals(
    parseCronSchedule("@hourly").next(at("2026-01-01T00:35:00Z")),
    at("2026-01-01T01:00:00Z"),
  );
  assertEquals(
    parseCronSchedule("@daily").next(at("2026-01-01T00:35:00Z")),
    at("2026-01-02T00:00:00Z"),
  );
  assertEquals(
    parseCronSchedule("@weekly").next(at("2026-01-01T00:00:00Z")),
    at("2026-01-04T00:00:00Z"),
  );
  assertEquals(
    parseCronSchedule("@monthly").next(at("2026-01-15T00:00:00Z")),
    at("2026-02-01T00:00:00Z"),
  );
  assertEquals(
    parseCronSchedule("@yearly").next(at("2026-01-15T00:00:00Z")),
    at("2027-01-01T00:00:00Z"),
  );
  assertEquals(
    parseCronSchedule("0 9 * * MON-FRI").next(at("2026-01-02T10:00:00Z")), // a Friday
    at("2026-01-05T09:00:00Z"),
  );
  assertEquals(
    parseCronSchedule("@every 1m30s").next(at("2026-01-01T00:00:00.700Z")),
    at("2026-01-01T00:01:30Z"),
  );
  assertEquals(
    parseCronSchedule("@hourly", "Asia/Kolkata").next(at("2026-01-01T00:35:00Z")),
    at("2026-01-01T01:30:00Z"),
  );
});

Deno.test("parseCronSchedule: refuses what kube-apiserver refuses", () => {
  for (
    const bad of [
      "* * * *",
      "0 0 0 * * *",
      "@often",
      "61 * * * *",
      "TZ=UTC 0 * * * *",
      "CRON_TZ=UTC @daily",
      "@every x",
    ]
  ) {
    assertThrows(() => parseCronSchedule(bad), CronSyntaxError, undefined);
  }
  assertEquals(parseGoDuration("1h2m3s"), 3_723_000);
  assertEquals(parseGoDuration("1.5h"), 5_400_000);
  assertEquals(isValidTimeZone("Europe/Berlin"), true);
  assertEquals(isValidTimeZone("Mars/Olympus"), false);
  assertEquals(isValidTimeZone(""), false);
});
