/**
 * Validation of a loaded config (cloudcore's `ValidateCloudCoreConfiguration`, docs/protocol.md §10,
 * plus checks that cloudcore leaves to a crash later: negative sizes, empty advertiseAddress,
 * iptablesManager.mode, edgecloud's extension fields).
 */
import { isAbsolute } from "node:path";
import { isIP } from "node:net";
import { type ConfigError, fieldError } from "./error.ts";
import type { CloudCoreConfig } from "./types.ts";

export { ConfigError } from "./error.ts";

/** Options for {@link validateConfig}. */
export interface ValidateOptions {
  /** Returns true if a file exists; injectable for tests. Default: `Deno.statSync`. */
  fileExists?: (path: string) => boolean;
}

function defaultFileExists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    // A permission error is not "missing": let the caller report the missing flag.
    throw err;
  }
}

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);

/**
 * Returns every problem in `cfg` as a {@link ConfigError}, in field order. `file` names the
 * source in messages.
 */
export function configErrors(
  cfg: CloudCoreConfig,
  file: string,
  options?: ValidateOptions,
): ConfigError[] {
  const errors: ConfigError[] = [];
  const fileExists = options?.fileExists ?? defaultFileExists;
  const bad = (field: string, value: unknown, problem: string) =>
    errors.push(fieldError(file, field, value, problem));

  const port = (field: string, value: unknown, allowZero = false) => {
    if (!isInt(value) || value > 65535 || value < (allowZero ? 0 : 1)) {
      bad(field, value, `is not a valid port (${allowZero ? 0 : 1}-65535)`);
    }
  };
  const ip = (field: string, value: unknown) => {
    if (typeof value !== "string" || isIP(value) === 0) bad(field, value, "is not a valid IP");
  };
  const positive = (field: string, value: unknown) => {
    if (!isInt(value) || value <= 0) bad(field, value, "must be greater than 0");
  };
  const nonNegative = (field: string, value: unknown) => {
    if (!isInt(value) || value < 0) bad(field, value, "must not be negative");
  };
  const sizes = (prefix: string, obj: object) => {
    for (const [k, v] of Object.entries(obj)) nonNegative(`${prefix}.${k}`, v);
  };
  const connectionLimits = (prefix: string, limits: object) => {
    for (const [k, v] of Object.entries(limits)) positive(`${prefix}.${k}`, v);
  };

  // kubeAPIConfig (ValidateKubeAPIConfig)
  const kube = cfg.kubeAPIConfig;
  if (kube.kubeConfig !== "") {
    if (!isAbsolute(kube.kubeConfig)) {
      bad("kubeAPIConfig.kubeConfig", kube.kubeConfig, "is not an absolute path");
    } else if (!fileExists(kube.kubeConfig)) {
      bad("kubeAPIConfig.kubeConfig", kube.kubeConfig, "does not exist");
    }
  }
  nonNegative("kubeAPIConfig.qps", kube.qps);
  nonNegative("kubeAPIConfig.burst", kube.burst);

  // commonConfig (ValidateCommonConfig)
  const bind = cfg.commonConfig.monitorServer.bindAddress;
  const hostPort = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(bind);
  if (!hostPort) {
    bad("commonConfig.monitorServer.bindAddress", bind, "is not IP:port");
  } else {
    const field = "commonConfig.monitorServer.bindAddress";
    if (isIP(hostPort[1] ?? hostPort[2]) === 0) bad(field, bind, "does not start with a valid IP");
    const p = Number(hostPort[3]);
    if (p < 0 || p > 65535) bad(field, bind, "has an invalid port (0-65535)");
  }
  port("commonConfig.tunnelPort", cfg.commonConfig.tunnelPort);

  // modules.cloudHub (ValidateModuleCloudHub): skipped when disabled, as in cloudcore.
  const hub = cfg.modules.cloudHub;
  const h = "modules.cloudHub";
  if (hub.enable) {
    // edgecloud: 0 picks a free port (tests, several hubs on one host); KubeEdge requires 1-65535.
    port(`${h}.https.port`, hub.https.port, true);
    ip(`${h}.https.address`, hub.https.address);
    port(`${h}.websocket.port`, hub.websocket.port, true);
    ip(`${h}.websocket.address`, hub.websocket.address);
    port(`${h}.quic.port`, hub.quic.port, true);
    ip(`${h}.quic.address`, hub.quic.address);
    nonNegative(`${h}.quic.maxIncomingStreams`, hub.quic.maxIncomingStreams);
    if (!hub.unixsocket.address.toLowerCase().startsWith("unix://")) {
      bad(`${h}.unixsocket.address`, hub.unixsocket.address, "must start with unix://");
    }
    positive(`${h}.unixsocket.requestTimeout`, hub.unixsocket.requestTimeout);
    nonNegative(`${h}.nodeLimit`, hub.nodeLimit);
    positive(`${h}.keepaliveInterval`, hub.keepaliveInterval);
    positive(`${h}.writeTimeout`, hub.writeTimeout);
    positive(`${h}.tokenRefreshDuration`, hub.tokenRefreshDuration);
    positive(`${h}.edgeCertSigningDuration`, hub.edgeCertSigningDuration);
    if (hub.advertiseAddress.length === 0) {
      bad(`${h}.advertiseAddress`, hub.advertiseAddress, "must list at least one address");
    }
    hub.advertiseAddress.forEach((a, i) => ip(`${h}.advertiseAddress[${i}]`, a));
    const os = hub.objectSync;
    positive(`${h}.objectSync.writeConcurrency`, os.writeConcurrency);
    nonNegative(`${h}.objectSync.successPointDelay`, os.successPointDelay);
    nonNegative(`${h}.objectSync.successPointQPS`, os.successPointQPS);
    positive(`${h}.objectSync.successPointBurst`, os.successPointBurst);
    connectionLimits(`${h}.connectionLimits`, hub.connectionLimits);
  }

  // modules.edgeController (ValidateModuleEdgeController)
  const ec = cfg.modules.edgeController;
  if (ec.enable) {
    positive("modules.edgeController.nodeUpdateFrequency", ec.nodeUpdateFrequency);
    sizes("modules.edgeController.buffer", ec.buffer);
    sizes("modules.edgeController.load", ec.load);
  }
  const dc = cfg.modules.deviceController;
  if (dc.enable) {
    sizes("modules.deviceController.buffer", dc.buffer);
    sizes("modules.deviceController.load", dc.load);
  }

  // modules.cloudStream (ValidateModuleCloudStream): stream TLS files must exist when enabled
  // with an external API.
  const cs = cfg.modules.cloudStream;
  if (cs.enable) {
    port("modules.cloudStream.tunnelPort", cs.tunnelPort);
    port("modules.cloudStream.streamPort", cs.streamPort);
    // The stream server is for an external kube-apiserver; the embedded API needs no files.
    for (
      const key of ["tlsStreamCAFile", "tlsStreamCertFile", "tlsStreamPrivateKeyFile"] as const
    ) {
      if (cfg.kubeAPIConfig.kubeConfig && !fileExists(cs[key])) {
        bad(`modules.cloudStream.${key}`, cs[key], "does not exist");
      }
    }
  }

  const router = cfg.modules.router;
  if (router.enable) {
    port("modules.router.port", router.port);
    ip("modules.router.address", router.address);
  }

  // cloudcore rejects other modes while parsing (IptablesManager.UnmarshalJSON).
  const mode = cfg.modules.iptablesManager.mode as string;
  if (mode !== "internal" && mode !== "external") {
    bad("modules.iptablesManager.mode", mode, "is not internal or external");
  }

  // edgecloud's embedded API; port 0 picks a free port.
  ip("apiServer.bindAddress", cfg.apiServer.bindAddress);
  port("apiServer.port", cfg.apiServer.port, true);
  connectionLimits("apiServer.connectionLimits", cfg.apiServer.connectionLimits);
  positive("apiServer.nodeMonitorGracePeriod", cfg.apiServer.nodeMonitorGracePeriod);

  // edgecloud's leader election: client-go requires leaseDuration > renewDeadline > retryPeriod.
  const le = cfg.leaderElection;
  positive("leaderElection.leaseDuration", le.leaseDuration);
  positive("leaderElection.renewDeadline", le.renewDeadline);
  positive("leaderElection.retryPeriod", le.retryPeriod);
  if (le.leaseDuration <= le.renewDeadline) {
    bad("leaderElection.leaseDuration", le.leaseDuration, "must be greater than renewDeadline");
  }
  if (le.renewDeadline <= le.retryPeriod * 1.2) {
    bad("leaderElection.renewDeadline", le.renewDeadline, "must be greater than 1.2 × retryPeriod");
  }
  if (!le.resourceNamespace) bad("leaderElection.resourceNamespace", "", "is empty");
  if (!le.resourceName) bad("leaderElection.resourceName", "", "is empty");

  return errors;
}

/**
 * Throws the first problem in `cfg` as a {@link ConfigError} (one line: file, field, value).
 *
 * @example
 * ```ts
 * validateConfig(cfg, "cloudcore.yaml");
 * // ConfigError: cloudcore.yaml: modules.cloudHub.websocket.port: 70000 is not a valid port (1-65535)
 * ```
 */
export function validateConfig(
  cfg: CloudCoreConfig,
  file: string,
  options?: ValidateOptions,
): void {
  const [first] = configErrors(cfg, file, options);
  if (first) throw first;
}
