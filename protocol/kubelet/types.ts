/** A bidirectional byte pipe (a socket, or one tunnel connection). */
export interface ByteDuplex {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
}
/** An HTTP/1.1 request head as the kubelet receives it (path+query in `url`, e.g. "/exec/ns/pod/c?command=sh&stdin=1&tty=1"). */
export interface UpgradeRequest {
  method: string;
  url: string;
  headers: Headers;
}
export interface TerminalSize {
  width: number;
  height: number;
}
/** One exec/attach session's streams, as the runtime sees them. */
export interface StreamIO {
  stdin?: ReadableStream<Uint8Array>;
  stdout?: WritableStream<Uint8Array>;
  stderr?: WritableStream<Uint8Array>;
  tty: boolean;
  resize: AsyncIterable<TerminalSize>;
}
/** What a kubelet's streaming server needs from a (simulated) container runtime. */
export interface ContainerRuntime {
  /** Resolves with the exit code (0 = success; non-zero is reported on the error stream as kubelet does). */
  exec(
    t: { namespace: string; pod: string; uid?: string; container: string; command: string[] },
    io: StreamIO,
  ): Promise<number>;
  attach(
    t: { namespace: string; pod: string; uid?: string; container: string },
    io: StreamIO,
  ): Promise<number>;
  /** One forwarded connection to `port` inside the pod. */
  portForward(
    t: { namespace: string; pod: string; uid?: string; port: number },
    conn: ByteDuplex,
  ): Promise<void>;
}
