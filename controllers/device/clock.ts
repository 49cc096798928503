/**
 * The time source DeviceController uses for coalescing windows and retry back-off; injectable so
 * tests advance time instead of sleeping. Same shape as the hub's clock (controllers and hub do
 * not import each other).
 */

/** Opaque timer handle. */
export type TimerHandle = number;

/** Time source and one-shot timers. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Date.now and the global timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms) as unknown as TimerHandle,
  clearTimeout: (handle) => clearTimeout(handle),
};
