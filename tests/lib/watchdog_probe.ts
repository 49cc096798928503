/** Prints watchdogIntervalFromEnv() (or "off"), for watchdog_test.ts to run under narrow flags. */
import { watchdogIntervalFromEnv } from "../../lib/watchdog.ts";

console.log(watchdogIntervalFromEnv() ?? "off");
