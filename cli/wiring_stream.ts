/**
 * CloudStream's place in `edgecloud serve` (docs/cloudstream.md): with `modules.cloudStream.enable`
 * the tunnel server listens on `tunnelPort` (at the WebSocket listener's address, with the hub's
 * certificates, as cloudcore falls back to CloudHub's), the embedded API gets the nodes'
 * kubelets for logs/exec/attach/port-forward/top, and with an external API the stream server
 * listens on `streamPort` with the `tlsStream*` files for kube-apiserver.
 */
import type { EmbeddedApi } from "../apiserver/mod.ts";
import type { CloudCoreConfig } from "../config/mod.ts";
import type { HubMetrics } from "../hub/mod.ts";
import type { CloudStream } from "../hub/stream/mod.ts";
import type { KubeClient } from "../kube/mod.ts";
import type { ConnLimits } from "../lib/mod.ts";
import type { ServeContext } from "./serve.ts";

/** The TLS material the hub serves with. */
export interface HubTls {
  certPem: string;
  keyPem: string;
  caPem: string;
}

/** Builds CloudStream when enabled, or returns undefined. */
export async function buildCloudStream(
  ctx: ServeContext,
  kube: KubeClient,
  embedded: EmbeddedApi | undefined,
  tls: HubTls,
  metrics: HubMetrics,
  limits: ConnLimits,
  localIP: string,
): Promise<CloudStream | undefined> {
  const cfg: CloudCoreConfig = ctx.config;
  const cs = cfg.modules.cloudStream;
  if (!cs.enable) return undefined;
  // Loaded only when enabled (off by default): the tunnel and stream servers, SPDY, zlib.
  const { CloudStream } = await import("../hub/stream/mod.ts");
  const hostname = cfg.modules.cloudHub.websocket.address;
  const stream = embedded ? undefined : {
    hostname,
    port: cs.streamPort,
    certPem: await Deno.readTextFile(cs.tlsStreamCertFile),
    keyPem: await Deno.readTextFile(cs.tlsStreamPrivateKeyFile),
    caPem: await Deno.readTextFile(cs.tlsStreamCAFile),
  };
  const cloudStream = new CloudStream({
    kube,
    registry: metrics.registry,
    tunnel: { hostname, port: cs.tunnelPort, ...tls },
    stream,
    localIP,
    authorization: cfg.modules.cloudHub.authorization.enable &&
      !cfg.modules.cloudHub.authorization.debug,
    limits,
  });
  embedded?.setNodeProxy(cloudStream.proxy);
  return cloudStream;
}
