/**
 * The bottom layer: dependency-free helpers every other folder may use. Nothing here imports
 * another edgecloud folder.
 *
 * - {@link Fifo}, {@link Heap}, {@link Semaphore}: queues and a counting lock
 * - {@link Clock}, {@link systemClock}, {@link ManualClock}: an injectable time source
 * - {@link sleep}, {@link withTimeout}: timeouts that leave no timer behind
 * - {@link encodeBase64}, {@link decodeBase64}, {@link concat}: bytes
 * - {@link jsonEqual}, {@link isRecord}: JSON values
 * - {@link isIpLiteral}: host names
 * - {@link selectorMatches}, {@link formatLabelSelector}: `metav1.LabelSelector`
 * - {@link parseCronSchedule}: CronJob schedules
 * - {@link createLogger}: the structured logger
 * - {@link ConnGuard}, {@link serveFetch}: connection limits and the node:http(s) fetch server
 * - {@link notifyReady}, {@link startWatchdog}: systemd's notify protocol and watchdog
 *
 * @example
 * ```ts
 * import { createLogger, Fifo, jsonEqual } from "./lib/mod.ts";
 * const log = createLogger("example");
 * const q = new Fifo<number>();
 * q.push(1);
 * log.info("equal", { same: jsonEqual({ a: 1 }, { a: 1 }) });
 * ```
 *
 * @module
 */
export { Fifo } from "./fifo.ts";
export { Heap } from "./heap.ts";
export { Semaphore } from "./semaphore.ts";
export { type Clock, ManualClock, systemClock, type TimerHandle } from "./clock.ts";
export { sleep, withTimeout } from "./timeouts.ts";
export { concat, decodeBase64, decodeBase64Url, encodeBase64 } from "./bytes.ts";
export { isRecord, jsonEqual } from "./json.ts";
export { isIpLiteral } from "./net.ts";
export {
  formatLabels,
  formatLabelSelector,
  isEmptySelector,
  type LabelSelector,
  type LabelSelectorRequirement,
  selectorMatches,
} from "./label_selector.ts";
export {
  type CronSchedule,
  CronSyntaxError,
  isValidTimeZone,
  parseCronSchedule,
  parseGoDuration,
} from "./cron.ts";
export {
  createLogger,
  formatLine,
  getLogLevel,
  isLogLevel,
  type LogFields,
  type Logger,
  type LogLevel,
  type LogSink,
  setLogLevel,
  setLogSink,
} from "./log.ts";
export {
  ConnGuard,
  type ConnGuardOptions,
  type ConnLimits,
  connLimits,
  DEFAULT_CONN_LIMITS,
  DropReason,
  type DropReasonLabel,
  guardNodeServer,
  type NodeGuardOptions,
  rawSocket,
  REQUEST_TIMEOUT_MS,
} from "./conn_guard.ts";
export { AddressInUseError, listenError } from "./listen_error.ts";
export {
  type FetchHandler,
  type FetchServer,
  type FetchServerOptions,
  serveFetch,
} from "./fetch_server.ts";
export {
  notifyReady,
  notifySocketFromEnv,
  notifyStopping,
  sdNotify,
  SdNotifyError,
  type SdNotifyOptions,
} from "./sdnotify.ts";
export {
  startWatchdog,
  type Watchdog,
  WATCHDOG_ENV,
  watchdogIntervalFromEnv,
  type WatchdogOptions,
} from "./watchdog.ts";
