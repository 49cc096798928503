/**
 * Clients that misbehave at the connection level, for the listener connection-limit tests
 * (lib/conn_guard.ts): a TCP client that sends nothing, a TLS client that sends no request,
 * one that sends its headers a line at a time, and a check of whether the server closed a
 * connection within a time.
 */

/** What the server did with a connection within the time given to {@link serverClosed}. */
export type CloseOutcome = "closed" | "open";

/**
 * Waits up to `withinMs` for the server to close `conn` (EOF or reset), reading and discarding
 * whatever it sends (e.g. a 408). Always closes `conn` before returning.
 */
export async function serverClosed(conn: Deno.Conn, withinMs: number): Promise<CloseOutcome> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn.close();
    } catch { /* closed */ }
  }, withinMs);
  const buf = new Uint8Array(4096);
  try {
    while ((await conn.read(buf)) !== null) { /* discard */ }
  } catch { /* reset by the server, or closed by the timer */ }
  clearTimeout(timer);
  if (!timedOut) {
    try {
      conn.close();
    } catch { /* closed */ }
  }
  return timedOut ? "open" : "closed";
}

/** A TCP connection that will send nothing. */
export function silentTcp(port: number): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port });
}

/** TLS options of a probe: the CA to trust, and a client certificate where one is required. */
export interface ProbeTls {
  caPem: string;
  certPem?: string;
  keyPem?: string;
}

/** A TLS connection with its handshake done, that will send nothing. */
export async function silentTls(port: number, tls: ProbeTls): Promise<Deno.TlsConn> {
  const conn = await Deno.connectTls({
    hostname: "127.0.0.1",
    port,
    caCerts: [tls.caPem],
    ...(tls.certPem && tls.keyPem ? { cert: tls.certPem, key: tls.keyPem } : {}),
  });
  await conn.handshake();
  return conn;
}

/**
 * Sends a request line over TLS, then one header line every `everyMs`, never the blank line that
 * ends the headers (slowloris), and reports whether the server closed it within `withinMs`.
 */
export async function slowHeadersClosed(
  port: number,
  tls: ProbeTls,
  withinMs: number,
  everyMs = 50,
): Promise<CloseOutcome> {
  const conn = await silentTls(port, tls);
  const enc = new TextEncoder();
  await conn.write(enc.encode("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  let i = 0;
  const drip = setInterval(() => {
    conn.write(enc.encode(`X-Drip-${i++}: a\r\n`)).catch(() => clearInterval(drip));
  }, everyMs);
  try {
    return await serverClosed(conn, withinMs);
  } finally {
    clearInterval(drip);
  }
}
