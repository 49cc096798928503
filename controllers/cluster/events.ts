/**
 * Events the embedded control plane records (core/v1 `Event`, as client-go's EventRecorder
 * writes them for kube-scheduler and kube-controller-manager): `involvedObject`, `reason`,
 * `message`, `type`, `source.component`, `reportingComponent`; a repeat of the same event
 * (object, reason, message) within 10 minutes bumps `count` and `lastTimestamp` of the first
 * instead of creating another, as the recorder's aggregation does. Failures are logged, never
 * thrown: an event is a hint, not part of the control loop.
 */
import type { KubeClient, KubeObject } from "../../kube/mod.ts";
import { createLogger } from "../../lib/mod.ts";

const log = createLogger("events");

/** An event's subject. */
export interface EventSubject {
  kind: string;
  apiVersion: string;
  namespace?: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

const REPEAT_WINDOW_MS = 10 * 60_000;

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Records events for one component. */
export class EventRecorder {
  readonly #recent = new Map<
    string,
    { name: string; namespace: string; count: number; at: number }
  >();

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
  async record(
    subject: EventSubject,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): Promise<void> {
    // Node events live in "default", as kubelet and kube-controller-manager put them.
    const namespace = subject.namespace || "default";
    const key = `${namespace}/${subject.kind}/${subject.name}/${reason}/${message}`;
    const now = this.now();
    const prev = this.#recent.get(key);
    try {
      if (prev && now.getTime() - prev.at < REPEAT_WINDOW_MS) {
        prev.count++;
        prev.at = now.getTime();
        await this.kube.patch(
          `/api/v1/namespaces/${namespace}/events/${prev.name}`,
          { count: prev.count, lastTimestamp: rfc3339(now) },
          "application/merge-patch+json",
        );
        return;
      }
      const name = `${subject.name}.${
        (now.getTime() * 1e6 + Math.floor(Math.random() * 1e6)).toString(16)
      }`;
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
        firstTimestamp: rfc3339(now),
        lastTimestamp: rfc3339(now),
        count: 1,
      });
      this.#recent.set(key, { name, namespace, count: 1, at: now.getTime() });
      if (this.#recent.size > 5_000) {
        for (const [k, v] of this.#recent) {
          if (now.getTime() - v.at > REPEAT_WINDOW_MS) this.#recent.delete(k);
        }
      }
    } catch (e) {
      log.debug("event not recorded", {
        reason,
        subject: subject.name,
        error: (e as Error).message,
      });
    }
  }
}
