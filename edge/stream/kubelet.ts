/**
 * What an edge's stream tunnel serves from: the node's kubelet server (edgecore's at
 * `127.0.0.1:10350`). The simulator implements it with simulated containers.
 */

/** A bidirectional byte pipe (one tunnel connection). */
export interface EdgeByteDuplex {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
}

/** An upgrade request as the kubelet receives it. */
export interface EdgeUpgradeRequest {
  method: string;
  /** Path and query, e.g. `/exec/ns/pod/c?command=sh&input=1`. */
  url: string;
  headers: Headers;
}

/** A kubelet server, seen from the tunnel. */
export interface EdgeKubelet {
  /** A GET (`/containerLogs/...`, `/stats/summary`, `/metrics/resource`): the response body. */
  get(path: string, headers: Headers, signal: AbortSignal): Promise<ReadableStream<Uint8Array>>;
  /**
   * An upgrade request (exec, attach, port-forward): `conn` carries the bytes after the request
   * head both ways; the kubelet writes its response head (`101 Switching Protocols`) itself.
   */
  upgrade(req: EdgeUpgradeRequest, conn: EdgeByteDuplex): Promise<void>;
}
