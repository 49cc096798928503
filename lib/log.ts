/**
 * One-line structured logging: `<iso time> <LEVEL> <module> <message> key=value ...`.
 *
 * Written by hand because the logger we want is ten lines; @std/log (JSR) is unreachable here.
 *
 * @example
 * ```ts
 * const log = createLogger("cloudhub");
 * log.info("node connected", { node: "edge-1" });
 * ```
 */

/** Log levels in increasing severity. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Key/value pairs appended to a log line. */
export type LogFields = Record<string, unknown>;

/** A logger bound to one module name. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** Where finished lines go; tests may replace it. */
export type LogSink = (level: LogLevel, line: string) => void;

let threshold: LogLevel = "info";
let sink: LogSink = (_level, line) => console.error(line);

/** Returns true if `value` names a log level. */
export function isLogLevel(value: string): value is LogLevel {
  return Object.hasOwn(ORDER, value);
}

/** Sets the minimum level that is written. */
export function setLogLevel(level: LogLevel): void {
  threshold = level;
}

/** Returns the current minimum level. */
export function getLogLevel(): LogLevel {
  return threshold;
}

/** Replaces the output sink and returns the previous one (so tests can restore it). */
export function setLogSink(next: LogSink): LogSink {
  const previous = sink;
  sink = next;
  return previous;
}

function formatValue(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.message);
  if (typeof value === "string") {
    return /[\s"=]/.test(value) || value === "" ? JSON.stringify(value) : value;
  }
  if (typeof value === "number" || typeof value === "boolean" || value === null) {
    return String(value);
  }
  if (value === undefined) return "undefined";
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** Formats one log line (exported for tests). */
export function formatLine(
  level: LogLevel,
  module: string,
  message: string,
  fields?: LogFields,
): string {
  let line = `${new Date().toISOString()} ${level.toUpperCase()} ${module} ${message}`;
  if (fields) {
    for (const [key, value] of Object.entries(fields)) line += ` ${key}=${formatValue(value)}`;
  }
  return line;
}

/** Creates a logger for one module. */
export function createLogger(module: string): Logger {
  const write = (level: LogLevel) => (message: string, fields?: LogFields) => {
    if (ORDER[level] < ORDER[threshold]) return;
    sink(level, formatLine(level, module, message, fields));
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}
