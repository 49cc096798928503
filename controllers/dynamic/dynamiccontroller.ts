/**
 * DynamicController (KubeEdge's `cloud/pkg/dynamiccontroller`, docs/protocol.md §11): answers the
 * Applications an edge's MetaServer sends when its cache cannot serve a request. get, list,
 * create, update, updatestatus, patch and delete go to the Kubernetes API (with the node
 * restriction of {@link NodeAccess}); the answer is the Application back with `Status`
 * `Approved` and `RespBody`, or `Rejected` with the API's Status in `Error` (its reason when
 * there is none). A watch registers a listener (listeners.ts) that sends the edge the matching
 * objects and then their changes; a watch from a `resourceVersion` the API has compacted is
 * Rejected with 410 Gone, so the edge lists again. `watchapp/sync` (sent on every connect) lists
 * the watches the edge still holds: the others are dropped, missing ones added, and the failures
 * answered by Application ID.
 */
import {
  buildMessage,
  Group,
  type Message,
  ModuleName,
  Operation,
  receiveLoop,
} from "../../modules/mod.ts";
import type { Module, ModuleContext } from "../../modules/mod.ts";
import { KubeApiError, type KubeClient, type KubeObject, type KubeStatus } from "../../kube/mod.ts";
import { createLogger } from "../../lib/mod.ts";
import { type LocationCache, type NodeAuthorizationMode, NodeAuthorizer } from "../edge/mod.ts";
import { NodeAccess } from "./access.ts";
import {
  apiPath,
  type Application,
  AppStatus,
  type AppTarget,
  decodeApplication,
  encodeApplication,
  jsonOf,
  parseKey,
  Verb,
  WATCH_APP_SYNC,
} from "./application.ts";
import { EndpointFilters } from "./filters.ts";
import { WatchListeners } from "./listeners.ts";

const log = createLogger("dynamiccontroller");

/** Options of {@link DynamicController}. */
export interface DynamicControllerOptions {
  kube: KubeClient;
  /** EdgeController's pod locations (node restriction of referenced objects). */
  location: LocationCache;
  /** `cloudHub.authorization` as a mode (default enforce). */
  authorization?: NodeAuthorizationMode;
}

/** An Application failed: the API's Status, or a reason. */
class AppError extends Error {
  constructor(readonly status: KubeStatus | undefined, reason: string) {
    super(reason);
  }
}

interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
  limit?: number;
  continue?: string;
  timeoutSeconds?: number;
}

/** See module docs. */
export class DynamicController implements Module {
  readonly name = ModuleName.DynamicController;
  readonly group = ModuleName.DynamicController;
  #bus?: ModuleContext["bus"];
  #listeners?: WatchListeners;
  #access: NodeAccess;
  #filters: EndpointFilters;
  #stopped = false;

  constructor(readonly opts: DynamicControllerOptions) {
    this.#access = new NodeAccess(
      new NodeAuthorizer(opts.location, opts.kube, opts.authorization ?? "enforce"),
      opts.kube,
    );
    this.#filters = new EndpointFilters(opts.kube);
  }

  /** Watches held for edges. */
  get watches(): number {
    return this.#listeners?.size ?? 0;
  }

  start(ctx: ModuleContext): Promise<void> {
    this.#bus = ctx.bus;
    this.#listeners = new WatchListeners(
      this.opts.kube,
      ctx.bus,
      (node, o) => this.#filters.apply(node, o),
    );
    receiveLoop(ctx.bus, this.name, async (msg) => {
      if (!this.#stopped) await this.process(msg);
    }).catch((err) => log.error("dynamiccontroller receive loop ended", { error: err }));
    log.info("dynamiccontroller started");
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#listeners?.stop();
  }

  /** Handles one message from an edge's MetaServer. */
  async process(msg: Message): Promise<void> {
    const resource = msg.route.resource ?? "";
    const node = /^node\/([^/]+)\//.exec(resource)?.[1] ?? "";
    if (!node) return;
    if (resource.endsWith(WATCH_APP_SYNC)) return await this.#watchSync(node, msg);
    const app = decodeApplication(msg.content);
    if (!app) {
      log.warn("metaserver message without an Application", { node, resource });
      return;
    }
    // cloudcore: with authorization, an Application naming another node is dropped.
    if (app.Nodename && app.Nodename !== node && this.#access.auth.enabled) {
      log.warn("metaserver Application for another node dropped", { node, claims: app.Nodename });
      return;
    }
    app.Nodename = node;
    try {
      const resp = await this.#apply(app);
      await this.#respond(app, msg.header.id, AppStatus.Approved, undefined, resp);
    } catch (e) {
      await this.#respond(app, msg.header.id, AppStatus.Rejected, e);
    }
  }

  async #apply(app: Application): Promise<unknown> {
    const t = parseKey(app.Key);
    if (!t) {
      throw new AppError(undefined, `cannot parse Application key ${JSON.stringify(app.Key)}`);
    }
    const kube = this.opts.kube;
    const node = app.Nodename;
    const call = async <T>(f: () => Promise<T>): Promise<T> => {
      try {
        return await f();
      } catch (e) {
        if (e instanceof KubeApiError) throw new AppError(e.status, e.message);
        throw new AppError(undefined, (e as Error).message);
      }
    };
    const deny = async (verb: string, fieldSelector = "", body?: KubeObject, sub = "") => {
      const denied = await this.#access.check(node, verb, t, fieldSelector, body, sub);
      if (denied) throw new AppError(denied, String(denied.message));
    };
    switch (app.Verb) {
      case Verb.Get: {
        await deny(Verb.Get);
        const o = await call(() => kube.get<KubeObject>(apiPath(t), { node }));
        return await this.#filters.apply(node, o);
      }
      case Verb.List: {
        const opt = jsonOf<ListOptions>(app.Option);
        await deny(Verb.List, opt.fieldSelector ?? "");
        const list = await call(() =>
          kube.get<KubeObject & { items?: KubeObject[] }>(apiPath(t, false), {
            node,
            query: listQuery(opt),
          })
        );
        return await this.#filters.applyList(node, list);
      }
      case Verb.Watch:
        return await this.#watch(app, t);
      case Verb.Create: {
        const body = jsonOf<KubeObject>(app.ReqBody);
        await deny(Verb.Create, "", body, app.Subresource);
        const path = apiPath(t, !!app.Subresource) + (app.Subresource ? `/${app.Subresource}` : "");
        return await call(() => kube.create(path, body, { node }));
      }
      case Verb.Update:
      case Verb.UpdateStatus: {
        const body = jsonOf<KubeObject>(app.ReqBody);
        const sub = app.Verb === Verb.UpdateStatus ? "status" : app.Subresource;
        const named = { ...t, name: t.name || body.metadata?.name || "" };
        const denied = await this.#access.check(node, app.Verb, named, "", body, sub);
        if (denied) throw new AppError(denied, String(denied.message));
        return await call(() =>
          kube.update(apiPath(named) + (sub ? `/${sub}` : ""), body, { node })
        );
      }
      case Verb.Patch: {
        const pi = jsonOf<
          { Name?: string; PatchType?: string; Data?: string; Subresources?: string[] }
        >(
          app.Option,
        );
        const named = { ...t, name: pi.Name || t.name };
        const sub = (pi.Subresources ?? []).join("/");
        const denied = await this.#access.check(node, Verb.Patch, named, "", undefined, sub);
        if (denied) throw new AppError(denied, String(denied.message));
        const data = pi.Data
          ? new TextDecoder().decode(Uint8Array.from(atob(pi.Data), (c) => c.charCodeAt(0)))
          : "{}";
        return await call(() =>
          kube.patch(
            apiPath(named) + (sub ? `/${sub}` : ""),
            data,
            pi.PatchType ?? "application/merge-patch+json",
            { node },
          )
        );
      }
      case Verb.Delete: {
        await deny(Verb.Delete);
        await call(() => kube.delete(apiPath(t), jsonOf(app.Option), { node }));
        return undefined;
      }
      default:
        throw new AppError(undefined, `unsupported Application Verb type :${app.Verb}`);
    }
  }

  async #watch(app: Application, t: AppTarget): Promise<undefined> {
    const opt = jsonOf<ListOptions>(app.Option);
    const denied = await this.#access.check(app.Nodename, Verb.Watch, t, opt.fieldSelector ?? "");
    if (denied) throw new AppError(denied, String(denied.message));
    const rv = opt.resourceVersion ?? "";
    if (rv && rv !== "0") await this.#checkNotCompacted(t, rv);
    await this.#listeners!.add({
      id: app.ID,
      node: app.Nodename,
      target: t,
      labelSelector: opt.labelSelector ?? "",
      fieldSelector: opt.fieldSelector ?? "",
    });
    return undefined;
  }

  /** A watch from `rv` the API no longer has fails as kube-apiserver's does: 410 Gone. */
  async #checkNotCompacted(t: AppTarget, rv: string): Promise<void> {
    const abort = new AbortController();
    let gone: KubeStatus | undefined;
    const timer = setTimeout(() => abort.abort(), 2_000);
    try {
      await this.opts.kube.http.watch<KubeObject>(
        apiPath({ ...t, name: "" }, false),
        { resourceVersion: rv, allowWatchBookmarks: false },
        (ev) => {
          if ((ev.type as string) === "ERROR") gone = ev.object as unknown as KubeStatus;
          abort.abort();
        },
        abort.signal,
        1,
      );
    } catch (e) {
      if (e instanceof KubeApiError) gone = e.status;
    } finally {
      clearTimeout(timer);
    }
    if (gone && Number(gone.code) === 410) {
      throw new AppError(gone, String(gone.message ?? "too old resource version"));
    }
  }

  async #watchSync(node: string, msg: Message): Promise<void> {
    let apps: Record<string, unknown> = {};
    if (typeof msg.content === "object" && msg.content !== null) {
      apps = msg.content as Record<string, unknown>;
    } else if (typeof msg.content === "string") {
      try {
        apps = JSON.parse(msg.content);
      } catch { /* none */ }
    }
    const listeners = this.#listeners!;
    const held = listeners.ofNode(node);
    for (const id of [...held.keys()]) if (!(id in apps)) listeners.remove(node, id);
    const failed: Record<string, unknown> = {};
    for (const [id, raw] of Object.entries(apps)) {
      if (held.has(id)) continue;
      const app = decodeApplication(raw);
      if (!app) continue;
      app.ID ||= id;
      if (this.#access.auth.enabled && app.Nodename && app.Nodename !== node) {
        log.warn("watchapp sync names another node", { node, claims: app.Nodename });
        return;
      }
      app.Nodename = node;
      const t = parseKey(app.Key);
      try {
        if (!t) throw new AppError(undefined, `cannot parse Application key ${app.Key}`);
        // On a resync cloudcore resends everything; the edge's resourceVersion is not checked.
        const opt = jsonOf<ListOptions>(app.Option);
        const denied = await this.#access.check(node, Verb.Watch, t, opt.fieldSelector ?? "");
        if (denied) throw new AppError(denied, String(denied.message));
        await listeners.add({
          id: app.ID,
          node,
          target: t,
          labelSelector: opt.labelSelector ?? "",
          fieldSelector: opt.fieldSelector ?? "",
        });
      } catch (e) {
        failed[app.ID] = encodeApplication(rejected(app, e));
      }
    }
    await this.#send(buildMessage(
      {
        source: ModuleName.DynamicController,
        group: Group.Resource,
        operation: Operation.ApplicationResponse,
        resource: msg.route.resource ?? "",
      },
      failed,
      { parentId: msg.header.id },
    ));
  }

  async #respond(
    app: Application,
    parentId: string,
    status: string,
    err?: unknown,
    resp?: unknown,
  ): Promise<void> {
    const out = status === AppStatus.Rejected ? rejected(app, err) : { ...app, Status: status };
    if (resp !== undefined && resp !== null) {
      out.RespBody = new TextEncoder().encode(JSON.stringify(resp));
    }
    await this.#send(buildMessage(
      {
        source: ModuleName.DynamicController,
        group: Group.Resource,
        operation: Operation.ApplicationResponse,
        resource: `node/${app.Nodename}/ignore/Application/ignore`,
      },
      encodeApplication(out),
      { parentId },
    ));
  }

  async #send(msg: Message): Promise<void> {
    try {
      await this.#bus!.send(ModuleName.CloudHub, msg);
    } catch (e) {
      log.warn("metaserver answer not sent", { error: (e as Error).message });
    }
  }
}

function rejected(app: Application, err: unknown): Application {
  const out = { ...app, Status: AppStatus.Rejected };
  if (err instanceof AppError && err.status) out.Error = { ErrStatus: { ...err.status } };
  else out.Reason = err instanceof Error ? err.message : String(err);
  return out;
}

function listQuery(o: ListOptions): Record<string, string | number | undefined> {
  return {
    labelSelector: o.labelSelector || undefined,
    fieldSelector: o.fieldSelector || undefined,
    resourceVersion: o.resourceVersion || undefined,
    resourceVersionMatch: o.resourceVersionMatch || undefined,
    limit: o.limit || undefined,
    continue: o.continue || undefined,
  };
}
