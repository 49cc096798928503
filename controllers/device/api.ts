/**
 * The Kubernetes calls DeviceController makes, behind one small interface so tests can wrap it
 * (count PATCHes, inject failures) while talking to a real API server.
 */
import { isNotFound, type KubeClient, type KubeObject, PatchStrategy } from "../../kube/mod.ts";
import { DeviceGroup } from "./types.ts";

/** The plurals of `devices.kubeedge.io`. */
export type DevicePlural = "devices" | "devicemodels" | "devicestatuses";

/** What the controller needs from the API. */
export interface DeviceApiClient {
  /** Versions served for a plural of devices.kubeedge.io (empty when the group is absent). */
  servedVersions(plural: DevicePlural): Promise<string[]>;
  get(
    version: string,
    plural: DevicePlural,
    ns: string,
    name: string,
  ): Promise<KubeObject | undefined>;
  create(version: string, plural: DevicePlural, ns: string, obj: KubeObject): Promise<KubeObject>;
  /** Deletes; a missing object is not an error. */
  delete(version: string, plural: DevicePlural, ns: string, name: string): Promise<void>;
  /**
   * JSON merge patch (`application/merge-patch+json`) of the main resource: no KubeEdge device
   * CRD has a status subresource, so status is written here too.
   */
  mergePatch(
    version: string,
    plural: DevicePlural,
    ns: string,
    name: string,
    body: unknown,
  ): Promise<KubeObject>;
  /** Creates or merges `data` (and `labels`) into a ConfigMap. */
  applyConfigMap(
    ns: string,
    name: string,
    data: Record<string, string>,
    labels?: Record<string, string>,
  ): Promise<void>;
  /** `<ns>/<name>` of every ConfigMap matching a label selector. */
  listConfigMaps(labelSelector: string): Promise<{ namespace: string; name: string }[]>;
  /** Deletes a ConfigMap; a missing one is not an error. */
  deleteConfigMap(ns: string, name: string): Promise<void>;
  /** Creates a core/v1 Event. */
  createEvent(ns: string, event: KubeObject): Promise<void>;
}

/** Path of a devices.kubeedge.io collection or object. */
export function devicePath(
  version: string,
  plural: DevicePlural,
  ns?: string,
  name?: string,
  sub?: string,
): string {
  let p = `/apis/${DeviceGroup}/${version}`;
  if (ns) p += `/namespaces/${encodeURIComponent(ns)}`;
  p += `/${plural}`;
  if (name) p += `/${encodeURIComponent(name)}`;
  if (sub) p += `/${sub}`;
  return p;
}

/** {@link DeviceApiClient} on edgecloud's {@link KubeClient} (rate limits and retries). */
export class KubeDeviceApi implements DeviceApiClient {
  constructor(readonly kube: KubeClient) {}

  async servedVersions(plural: DevicePlural): Promise<string[]> {
    let group: { versions?: { version?: string }[] };
    try {
      group = await this.kube.get(`/apis/${DeviceGroup}`) as typeof group;
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
    const out: string[] = [];
    for (const v of group.versions ?? []) {
      if (!v.version) continue;
      try {
        const list = await this.kube.get(`/apis/${DeviceGroup}/${v.version}`) as {
          resources?: { name?: string }[];
        };
        if (list.resources?.some((r) => r.name === plural)) out.push(v.version);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return out;
  }

  async get(
    version: string,
    plural: DevicePlural,
    ns: string,
    name: string,
  ): Promise<KubeObject | undefined> {
    try {
      return await this.kube.get(devicePath(version, plural, ns, name));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  create(version: string, plural: DevicePlural, ns: string, obj: KubeObject): Promise<KubeObject> {
    return this.kube.create(devicePath(version, plural, ns), obj);
  }

  async delete(version: string, plural: DevicePlural, ns: string, name: string): Promise<void> {
    try {
      await this.kube.delete(devicePath(version, plural, ns, name));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  mergePatch(
    version: string,
    plural: DevicePlural,
    ns: string,
    name: string,
    body: unknown,
  ): Promise<KubeObject> {
    return this.kube.patch(
      devicePath(version, plural, ns, name),
      body,
      PatchStrategy.MergePatch,
    );
  }

  async applyConfigMap(
    ns: string,
    name: string,
    data: Record<string, string>,
    labels?: Record<string, string>,
  ): Promise<void> {
    const path = `/api/v1/namespaces/${encodeURIComponent(ns)}/configmaps`;
    const metadata = labels ? { labels } : undefined;
    try {
      await this.kube.patch(
        `${path}/${encodeURIComponent(name)}`,
        { ...(metadata ? { metadata } : {}), data },
        PatchStrategy.MergePatch,
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await this.kube.create(path, {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name, namespace: ns, ...metadata },
        data,
      });
    }
  }

  async listConfigMaps(labelSelector: string): Promise<{ namespace: string; name: string }[]> {
    const list = await this.kube.get("/api/v1/configmaps", { query: { labelSelector } }) as {
      items?: { metadata?: { name?: string; namespace?: string } }[];
    };
    return (list.items ?? []).map((i) => ({
      namespace: i.metadata?.namespace ?? "",
      name: i.metadata?.name ?? "",
    }));
  }

  async deleteConfigMap(ns: string, name: string): Promise<void> {
    try {
      await this.kube.delete(
        `/api/v1/namespaces/${encodeURIComponent(ns)}/configmaps/${encodeURIComponent(name)}`,
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async createEvent(ns: string, event: KubeObject): Promise<void> {
    await this.kube.create(`/api/v1/namespaces/${encodeURIComponent(ns)}/events`, event);
  }
}
