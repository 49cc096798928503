/**
 * DeviceController API access for a replica: Events are created by the leader only. Every
 * replica sees the same Device informer events, so without this each would record the same
 * "model deleted" Warning once. (Profile ConfigMaps stay with every replica: each computes the
 * same content from the same informers and writes it with an idempotent merge patch.)
 *
 * @example
 * ```ts
 * new DeviceController({ api: leaderOnlyEvents(new KubeDeviceApi(kube), () => gate.leading) });
 * ```
 */
import type { DeviceApiClient } from "../controllers/device/mod.ts";
import type { KubeObject } from "../kube/mod.ts";

/** Wraps `api` so that `createEvent` is a no-op unless `isLeader()`. */
export function leaderOnlyEvents(api: DeviceApiClient, isLeader: () => boolean): DeviceApiClient {
  return {
    servedVersions: (plural) => api.servedVersions(plural),
    get: (...args) => api.get(...args),
    create: (...args) => api.create(...args),
    delete: (...args) => api.delete(...args),
    mergePatch: (...args) => api.mergePatch(...args),
    applyConfigMap: (...args) => api.applyConfigMap(...args),
    listConfigMaps: (selector) => api.listConfigMaps(selector),
    deleteConfigMap: (ns, name) => api.deleteConfigMap(ns, name),
    createEvent: (ns: string, event: KubeObject) =>
      isLeader() ? api.createEvent(ns, event) : Promise.resolve(),
  };
}
