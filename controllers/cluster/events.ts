/**
 * Events the embedded control plane records: core/v1 `Event`s as client-go's legacy
 * EventRecorder writes them for kube-controller-manager (`involvedObject`, `reason`, `message`,
 * `type`, `source.component`, `firstTimestamp`/`lastTimestamp`/`count`), plus
 * `reportingComponent`/`reportingInstance` and `action` as kube-scheduler's events carry them.
 *
 * The recorder's EventCorrelator, with its defaults:
 * - dedup: a repeat of an event (same source, object, type, reason, message) patches `count` and
 *   `lastTimestamp` of the one already written (recreated if it was deleted meanwhile); the
 *   memory of written events is an LRU of 4096;
 * - aggregation: from the 10th distinct message for the same object, type and reason within
 *   10 minutes, the messages are folded into one "(combined from similar events): ..." event;
 * - spam filter: per source and object, a bucket of 25 events refilled one per 5 minutes;
 *   events beyond it are dropped.
 * Failures are logged, never thrown: an event is a hint, not part of the control loop.
 */
import { isNotFound, type KubeClient, type KubeObject } from "../../kube/mod.ts";
import { createLogger } from "../../lib/mod.ts";

const log = createLogger("events");

/** An event's subject (`v1.ObjectReference`). */
export interface EventSubject {
  kind: string;
  apiVersion: string;
  namespace?: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

const LRU_SIZE = 4096;
const AGGREGATE_MAX_EVENTS = 10;
const AGGREGATE_INTERVAL_MS = 600_000;
const SPAM_BURST = 25;
const SPAM_REFILL_MS = 300_000;

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** A Map used as an LRU (re-inserted on use, oldest evicted). */
class Lru<V> {
  readonly #m = new Map<string, V>();
  constructor(readonly size: number) {}
  get(k: string): V | undefined {
    const v = this.#m.get(k);
    if (v !== undefined) {
      this.#m.delete(k);
      this.#m.set(k, v);
    }
    return v;
  }
  set(k: string, v: V): void {
    this.#m.delete(k);
    this.#m.set(k, v);
    if (this.#m.size > this.size) this.#m.delete(this.#m.keys().next().value!);
  }
}

/** Records events for one component. */
export class EventRecorder {
  /** Written events by full key: name, namespace, count, firstTimestamp. */
  readonly #written = new Lru<{ name: string; namespace: string; count: number; first: string }>(
    LRU_SIZE,
  );
  readonly #aggregates = new Lru<{ messages: Set<string>; at: number }>(LRU_SIZE);
  readonly #spam = new Lru<{ tokens: number; at: number }>(LRU_SIZE);
  /** Sub-millisecond part of names (`<object>.<UnixNano in hex>`), unique per recorder. */
  #seq = 0;
  /** Serialises writes so repeats patch in order. */
  #chain: Promise<void> = Promise.resolve();

  constructor(
    readonly kube: KubeClient,
    readonly component: string,
    readonly now: () => Date = () => new Date(),
  ) {}

  /** The subject of an object. */
  static subject(o: KubeObject, kind?: string, apiVersion?: string): EventSubject {
    return {
      kind: kind ?? o.kind ?? "",
      apiVersion: apiVersion ?? o.apiVersion ?? "v1",
      namespace: o.metadata?.namespace,
      name: o.metadata?.name ?? "",
      uid: o.metadata?.uid,
      resourceVersion: o.metadata?.resourceVersion,
    };
  }

  /** Records `reason` / `message` about `subject` (`type` Normal or Warning). */
  record(
    subject: EventSubject,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
    action?: string,
  ): Promise<void> {
    const run = this.#chain.then(() => this.#record(subject, type, reason, message, action));
    this.#chain = run;
    return run;
  }

  /** EventSourceObjectSpamFilter: false when the object's bucket is empty. */
  #allowed(spamKey: string, now: number): boolean {
    const b = this.#spam.get(spamKey) ?? { tokens: SPAM_BURST, at: now };
    b.tokens = Math.min(SPAM_BURST, b.tokens + (now - b.at) / SPAM_REFILL_MS);
    b.at = now;
    this.#spam.set(spamKey, b);
    if (b.tokens < 1) return false;
    b.tokens--;
    return true;
  }

  async #record(
    subject: EventSubject,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
    action: string | undefined,
  ): Promise<void> {
    // Node events live in "default", as client-go's recorder puts namespace-less objects.
    const namespace = subject.namespace || "default";
    const now = this.now();
    const at = now.getTime();
    const objectKey = [
      this.component,
      subject.kind,
      subject.namespace ?? "",
      subject.name,
      subject.uid ?? "",
      subject.apiVersion,
      type,
    ].join("\u0000");
    if (!this.#allowed(objectKey, at)) {
      log.debug("event dropped by the spam filter", { reason, subject: subject.name });
      return;
    }
    // EventAggregator
    const aggregateKey = `${objectKey}\u0000${reason}`;
    let agg = this.#aggregates.get(aggregateKey);
    if (!agg || at - agg.at > AGGREGATE_INTERVAL_MS) agg = { messages: new Set(), at };
    agg.messages.add(message);
    agg.at = at;
    this.#aggregates.set(aggregateKey, agg);
    let key = `${aggregateKey}\u0000${subject.fieldPath ?? ""}\u0000${message}`;
    if (agg.messages.size >= AGGREGATE_MAX_EVENTS) {
      agg.messages.delete(agg.messages.values().next().value!);
      message = `(combined from similar events): ${message}`;
      key = aggregateKey;
    }
    // eventLogger
    const prev = this.#written.get(key);
    const stamp = rfc3339(now);
    const name = prev?.name ??
      `${subject.name}.${(BigInt(at) * 1_000_000n + BigInt(this.#seq++ % 1_000_000)).toString(16)}`;
    const count = (prev?.count ?? 0) + 1;
    const first = prev?.first ?? stamp;
    try {
      if (prev) {
        try {
          await this.kube.patch(
            `/api/v1/namespaces/${namespace}/events/${encodeURIComponent(name)}`,
            { count, lastTimestamp: stamp, message },
            "application/strategic-merge-patch+json",
          );
          this.#written.set(key, { ...prev, count });
          return;
        } catch (e) {
          if (!isNotFound(e)) throw e;
          // Deleted (expired) meanwhile: written again below, as the recorder does.
        }
      }
      await this.kube.create(`/api/v1/namespaces/${namespace}/events`, {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name, namespace },
        involvedObject: {
          kind: subject.kind,
          apiVersion: subject.apiVersion,
          namespace: subject.namespace,
          name: subject.name,
          uid: subject.uid,
          resourceVersion: subject.resourceVersion,
          fieldPath: subject.fieldPath,
        },
        reason,
        message,
        type,
        source: { component: this.component },
        reportingComponent: this.component,
        reportingInstance: this.component,
        ...(action ? { action } : {}),
        firstTimestamp: first,
        lastTimestamp: stamp,
        count,
      });
      this.#written.set(key, { name, namespace, count, first });
    } catch (e) {
      log.debug("event not recorded", {
        reason,
        subject: subject.name,
        error: (e as Error).message,
      });
    }
  }
}
