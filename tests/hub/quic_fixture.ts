/**
 * Shared fixture for QUIC tests: a real CA, hub server certificate and edge client
 * certificates made by hub/certs, and a recording ConnectionAcceptor.
 */
import {
  type CA,
  createCA,
  type KeyPairPem,
  signCSR,
  signServerCert,
  toPem,
} from "../../pki/mod.ts";
import { createEdgeCsr } from "../../edge/pki.ts";
import type { Message } from "../../modules/message.ts";
import type { ConnectionAcceptor, EdgeConnection, Refusal } from "../../hub/transport.ts";

/** PEM credentials of one edge node. */
export interface EdgePems {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** TLS material in the shape QuicServer and CloudHub take. */
export interface TlsPems {
  certPem: string;
  keyPem: string;
  caPem: string;
}

/** CA + hub server cert for 127.0.0.1 / localhost. */
export async function makePki(): Promise<{ ca: CA; serverCert: KeyPairPem; tls: TlsPems }> {
  const ca = await createCA();
  const serverCert = await signServerCert(ca, { ips: ["127.0.0.1"], dnsNames: ["localhost"] });
  return { ca, serverCert, tls: tlsOf(ca, serverCert) };
}

/** The PEM triple of a CA and a server certificate. */
export function tlsOf(ca: CA, server: KeyPairPem): TlsPems {
  return { certPem: server.certPem, keyPem: server.keyPem, caPem: ca.certPem };
}

/** An edge certificate as the cert server issues it (CN system:node:<cn>, EKU ClientAuth). */
export async function makeEdge(ca: CA, cnNode: string, extKeyUsages = [2]): Promise<EdgePems> {
  const csr = await createEdgeCsr(cnNode);
  const der = await signCSR(ca, csr.csrDer, { extKeyUsages, validityDays: 1 });
  return { caPem: ca.certPem, certPem: toPem(der, "CERTIFICATE"), keyPem: csr.keyPem };
}

/** A ConnectionAcceptor that records connections and their messages. */
export class RecordingAcceptor implements ConnectionAcceptor {
  readonly conns: EdgeConnection[] = [];
  readonly messages: Message[] = [];
  refuse: Refusal | null = null;
  #waiters: Array<() => void> = [];

  admit(_nodeId: string): Refusal | null {
    return this.refuse;
  }

  accept(conn: EdgeConnection): void {
    this.conns.push(conn);
    conn.onMessage((msg) => {
      this.messages.push(msg);
      this.#wake();
    });
    this.#wake();
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Waits (polling on events, with a time limit) until `check` returns a value. */
  async until<T>(check: () => T | undefined | null | false, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const v = check();
      if (v) return v;
      if (Date.now() > deadline) throw new Error("condition not met in time");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}
