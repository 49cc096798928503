/**
 * The edge end of MetaServer's cloud requests (edgecore's metaserver `Agent`): an Application
 * (source `metaserver`, group `dynamiccontroller`, resource and operation `null`) answered by
 * the cloud's DynamicController, and `watchapp/sync` listing the watches the edge holds. Watch
 * events arrive as resource messages on `<ns|null>/<type>/<name>`. Used by tests, benchmarks
 * and edge-sim; edgecore's own
 * byte layout of the Application (Go JSON, base64 byte fields) is kept.
 */
import { buildMessage, type Message, resourceTypeOf } from "../modules/mod.ts";

/** What the client needs from an edge connection. */
export interface MetaServerLink {
  send(msg: Message): Promise<void>;
  /** Registers a listener for every downstream message; returns its remover. */
  onMessage(listener: (msg: Message) => void): () => void;
}

/** A resource: group ("" for core), version, plural. */
export interface Gvr {
  group: string;
  version: string;
  resource: string;
}

/** The cloud's answer. */
export interface AppResult {
  status: string;
  reason: string;
  error?: { code?: number; reason?: string; message?: string };
  body?: unknown;
}

/** A Rejected or failed Application. */
export class MetaServerError extends Error {
  constructor(readonly result: AppResult) {
    super(result.error?.message || result.reason || result.status);
  }
  get code(): number {
    return Number(this.result.error?.code ?? 0);
  }
}

/** A watch event the cloud sent. */
export interface MetaWatchEvent {
  operation: string;
  object: Record<string, unknown>;
  resourceVersion: string;
}

const enc = new TextEncoder();

function b64(s: string): string | null {
  if (!s) return null;
  let out = "";
  for (const b of enc.encode(s)) out += String.fromCharCode(b);
  return btoa(out);
}

function unb64(v: unknown): string {
  if (typeof v !== "string" || !v) return "";
  return new TextDecoder().decode(Uint8Array.from(atob(v), (c) => c.charCodeAt(0)));
}

/** The Application key (`/<group|core>/<version>/<resource>/<ns|null>/<name|null>`). */
export function appKey(g: Gvr, namespace = "", name = ""): string {
  return `/${g.group || "core"}/${g.version}/${g.resource}/${namespace || "null"}/${
    name || "null"
  }`;
}

/** edgecore's `Identifier`: sha256 of node, key, verb, option, body and subresource. */
async function identifier(parts: string[]): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", enc.encode(parts.join("")));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** See module docs. */
export class MetaServerClient {
  readonly #watches = new Map<string, Record<string, unknown>>();

  constructor(readonly link: MetaServerLink, readonly node: string, readonly timeoutMs = 10_000) {}

  async #app(verb: string, key: string, option: unknown, body?: unknown, sub = "") {
    const opt = JSON.stringify(option ?? {});
    const req = body === undefined ? "" : JSON.stringify(body);
    return {
      ID: await identifier([this.node, key, verb, opt, req, sub]),
      Key: key,
      Verb: verb,
      Nodename: this.node,
      Option: b64(opt),
      ReqBody: b64(req),
      Subresource: sub,
      RespBody: null,
      Status: "InApplying",
      Reason: "",
      Error: { ErrStatus: { metadata: {} } },
      Timestamp: "0001-01-01T00:00:00Z",
    };
  }

  /** Sends `msg` and resolves with the cloud's response to it. */
  #request(msg: Message): Promise<Message> {
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined = undefined;
      const off = this.link.onMessage((m) => {
        if (m.header.parentId !== msg.header.id) return;
        clearTimeout(timer);
        off();
        resolve(m);
      });
      timer = setTimeout(() => {
        off();
        reject(new Error(`failed to access cloud Application center: timed out`));
      }, this.timeoutMs);
      this.link.send(msg).catch((e) => {
        clearTimeout(timer);
        off();
        reject(e);
      });
    });
  }

  /** Sends an Application and returns the cloud's answer (throws when not Approved). */
  async apply(
    verb: string,
    key: string,
    option?: unknown,
    body?: unknown,
    sub = "",
  ): Promise<AppResult> {
    const app = await this.#app(verb, key, option, body, sub);
    const msg = buildMessage(
      { source: "metaserver", group: "dynamiccontroller", resource: "null", operation: "null" },
      app,
    );
    const resp = await this.#request(msg);
    const c = resp.content as Record<string, unknown>;
    const text = unb64(c?.RespBody);
    const result: AppResult = {
      status: String(c?.Status ?? ""),
      reason: String(c?.Reason ?? ""),
      error: (c?.Error as { ErrStatus?: AppResult["error"] })?.ErrStatus,
      body: text ? JSON.parse(text) : undefined,
    };
    if (result.status !== "Approved") throw new MetaServerError(result);
    if (verb === "watch") this.#watches.set(app.ID, app);
    return result;
  }

  /** LIST through the cloud. */
  async list(g: Gvr, namespace = "", options: Record<string, unknown> = {}): Promise<unknown> {
    return (await this.apply("list", appKey(g, namespace), options)).body;
  }

  /** GET through the cloud. */
  async get(g: Gvr, namespace: string, name: string): Promise<unknown> {
    return (await this.apply("get", appKey(g, namespace, name), {})).body;
  }

  /**
   * Starts a watch; `onEvent` sees the objects the cloud sends for it (resource messages of the
   * watched type). Returns a function that stops listening (the cloud drops the watch at the
   * next {@link syncWatches}).
   */
  async watch(
    g: Gvr,
    namespace: string,
    options: Record<string, unknown>,
    onEvent: (ev: MetaWatchEvent) => void,
  ): Promise<() => void> {
    const type = resourceTypeOf(g.resource);
    const off = this.link.onMessage((m) => {
      // The edge stores objects from either controller alike: the hub sends an object once per
      // version, so a ConfigMap a pod here uses may come from EdgeController instead.
      if (m.route.source !== "dynamiccontroller" && m.route.source !== "edgecontroller") return;
      // The hub delivers `<ns|null>/<type>/<name>` (its `node/<node>/` prefix removed).
      const parts = (m.route.resource ?? "").split("/");
      if (parts.length < 3 || parts[1] !== type) return;
      if (namespace && parts[0] !== namespace) return;
      onEvent({
        operation: m.route.operation ?? "",
        object: m.content as Record<string, unknown>,
        resourceVersion: m.header.resourceVersion ?? "",
      });
    });
    try {
      const app = await this.apply("watch", appKey(g, namespace), options);
      void app;
    } catch (e) {
      off();
      throw e;
    }
    return off;
  }

  /** Forgets a watch locally (the next sync drops it in the cloud). */
  forgetAll(): void {
    this.#watches.clear();
  }

  /** `watchapp/sync`: tells the cloud which watches this edge holds; returns the failed ones. */
  async syncWatches(): Promise<Record<string, unknown>> {
    const content: Record<string, unknown> = {};
    for (const [id, app] of this.#watches) content[id] = app;
    const msg = buildMessage(
      {
        source: "metaserver",
        group: "dynamiccontroller",
        resource: "watchapp/sync",
        operation: "null",
      },
      content,
    );
    const resp = await this.#request(msg);
    return (resp.content ?? {}) as Record<string, unknown>;
  }
}
