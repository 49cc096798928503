/**
 * Byte plumbing between a node socket (an upgraded HTTP connection) and a tunnel connection:
 * both directions until either ends, then both are closed. Back-pressure holds: the socket is
 * read only as fast as the tunnel takes bytes, and written with its own buffer's drain. When the
 * edge ends the connection, what it sent before is written out before the socket is ended.
 */
import type { Duplex } from "node:stream";
import type { TunnelConn } from "../../protocol/stream/mod.ts";

/** Relays `socket` ↔ `conn` (after `head`, the bytes already read past the request head). */
export function relaySocket(socket: Duplex, conn: TunnelConn, head: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      conn.close();
      socket.destroy();
      resolve();
    };
    socket.on("close", finish);
    socket.on("error", finish);
    if (head.length) void conn.write(head).catch(finish);
    // Socket → tunnel, pausing the socket while a write waits for room.
    socket.on("data", (chunk: Uint8Array) => {
      socket.pause();
      conn.write(chunk).then(() => socket.resume(), finish);
    });
    // Tunnel → socket, then end the socket once everything the edge sent is written.
    void (async () => {
      const reader = conn.readable.getReader();
      try {
        for (;;) {
          const { done: end, value } = await reader.read();
          if (end || done) break;
          if (!socket.write(value)) {
            await new Promise<void>((r) => {
              socket.once("drain", r);
              socket.once("close", r);
            });
          }
        }
      } catch { /* the tunnel went away */ }
      if (!socket.destroyed) socket.end(() => finish());
      else finish();
    })();
  });
}
