/**
 * CronJob schedules as Kubernetes reads them (robfig/cron's `ParseStandard`): five fields
 * (minute hour day-of-month month day-of-week, names and `?` allowed), or a descriptor
 * (`@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight`, `@hourly`,
 * `@every <go duration>`), evaluated in an IANA time zone (default UTC here, the
 * controller-manager's zone in a container). `TZ=`/`CRON_TZ=` prefixes are refused as
 * kube-apiserver 1.32 refuses them ("use timeZone field instead").
 *
 * The five-field evaluation is npm `cron-parser`; this file only adds the Kubernetes rules it
 * does not know (field count, `@every`, the TZ prefix).
 */
import { CronExpressionParser } from "cron-parser";

/** A parsed schedule. */
export interface CronSchedule {
  /** The first activation strictly after `after`. */
  next(after: Date): Date;
}

/** Thrown for a schedule Kubernetes would refuse; `message` says why. */
export class CronSyntaxError extends Error {
  override name = "CronSyntaxError";
}

const DESCRIPTORS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

const GO_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A Go `time.ParseDuration` string (`1h30m`, `90s`, `1.5h`) in milliseconds. */
export function parseGoDuration(s: string): number {
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  if (s === "") throw new CronSyntaxError(`invalid duration ""`);
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) throw new CronSyntaxError(`time: invalid duration "${s}"`);
    total += Number(m[1]) * GO_UNITS[m[2]];
    pos = re.lastIndex;
  }
  return total;
}

/** Parses `schedule` (see module docs); throws {@link CronSyntaxError}. */
export function parseCronSchedule(schedule: string, timeZone = "UTC"): CronSchedule {
  const text = schedule.trim();
  if (/^(CRON_)?TZ=/.test(text)) {
    throw new CronSyntaxError("cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
  }
  if (text.startsWith("@every ")) {
    // robfig: a constant delay, at least one second, rounded down to whole seconds.
    const ms = Math.max(1000, Math.floor(parseGoDuration(text.slice(7).trim()) / 1000) * 1000);
    return {
      next: (after) => new Date(Math.floor(after.getTime() / 1000) * 1000 + ms),
    };
  }
  let expr = text;
  if (text.startsWith("@")) {
    const d = DESCRIPTORS[text];
    if (!d) throw new CronSyntaxError(`unrecognized descriptor: ${text}`);
    expr = d;
  } else {
    const fields = text.split(/\s+/).filter(Boolean);
    if (fields.length !== 5) {
      throw new CronSyntaxError(`expected exactly 5 fields, found ${fields.length}: ${text}`);
    }
  }
  try {
    // Parsed once here so a bad expression fails now, not at the first `next`.
    CronExpressionParser.parse(expr, { tz: timeZone, currentDate: new Date(0) });
  } catch (e) {
    throw new CronSyntaxError((e as Error).message);
  }
  return {
    next(after: Date): Date {
      const it = CronExpressionParser.parse(expr, { tz: timeZone, currentDate: after });
      return it.next().toDate();
    },
  };
}

/** True when `tz` is a time zone name the runtime knows (an IANA name such as `Etc/UTC`). */
export function isValidTimeZone(tz: string): boolean {
  if (tz === "" || tz.toLowerCase() === "local") return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
