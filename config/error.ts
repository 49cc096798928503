/**
 * The one error type of config/: its message is a single line naming the file, the field path
 * and the bad value, ready to be printed as-is by the command line.
 */

/** Where a config problem is. */
export interface ConfigErrorDetails {
  /** The config file as the user named it (or a label such as `<defaults>`). */
  file: string;
  /** Dotted field path, e.g. `modules.cloudHub.websocket.port`. */
  field?: string;
  /** The offending value. */
  value?: unknown;
  /** 1-based line of a YAML syntax error. */
  line?: number;
  /** 1-based column of a YAML syntax error. */
  column?: number;
}

/**
 * A bad config file: unreadable, malformed YAML, a wrong type or a value out of range.
 *
 * @example
 * ```ts
 * throw fieldError("cloudcore.yaml", "modules.cloudHub.websocket.port", 70000,
 *   "is not a valid port (1-65535)");
 * // cloudcore.yaml: modules.cloudHub.websocket.port: 70000 is not a valid port (1-65535)
 * ```
 */
export class ConfigError extends Error {
  readonly file: string;
  readonly field?: string;
  readonly value?: unknown;
  readonly line?: number;
  readonly column?: number;

  constructor(message: string, details: ConfigErrorDetails) {
    // Keep the message on one line whatever the inputs hold.
    super(message.replace(/\s*[\r\n]+\s*/g, " "));
    this.name = "ConfigError";
    this.file = details.file;
    this.field = details.field;
    this.value = details.value;
    this.line = details.line;
    this.column = details.column;
  }
}

/** Formats a config value for an error message: strings quoted, everything on one line. */
export function formatValue(value: unknown): string {
  if (value === undefined) return "undefined";
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (typeof value === "bigint") return value.toString();
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Builds `<file>: <field>: <value> <problem>`. */
export function fieldError(
  file: string,
  field: string,
  value: unknown,
  problem: string,
): ConfigError {
  return new ConfigError(`${file}: ${field}: ${formatValue(value)} ${problem}`, {
    file,
    field,
    value,
  });
}
