/** Test helper: one HTTPS request with node:https (a GET may carry a body, as edgecore sends). */
import https from "node:https";

/** What the server answered. */
export interface HttpsResponse {
  status: number;
  body: Uint8Array;
  text: string;
}

/** Request options. */
export interface HttpsRequest {
  port: number;
  path: string;
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** CA PEM to trust; without it verification is off. */
  ca?: string;
  cert?: string;
  key?: string;
  /** Send the body chunked (no Content-Length). */
  chunked?: boolean;
}

/** Sends one request to 127.0.0.1 and reads the whole answer. */
export function httpsRequest(r: HttpsRequest): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...r.headers };
    if (r.body && !r.chunked) headers["Content-Length"] = r.body.byteLength;
    // node:http does not chunk GET bodies by default; ask for it explicitly.
    if (r.body && r.chunked) headers["Transfer-Encoding"] = "chunked";
    const req = https.request(
      {
        host: "127.0.0.1",
        port: r.port,
        path: r.path,
        method: r.method ?? "GET",
        headers,
        ca: r.ca,
        cert: r.cert,
        key: r.key,
        rejectUnauthorized: r.ca !== undefined,
        agent: false,
      },
      (res) => {
        const chunks: Uint8Array[] = [];
        res.on("data", (c: Uint8Array) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const body = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
          let at = 0;
          for (const c of chunks) {
            body.set(c, at);
            at += c.length;
          }
          resolve({ status: res.statusCode ?? 0, body, text: new TextDecoder().decode(body) });
        });
      },
    );
    req.on("error", reject);
    if (r.body && r.chunked) {
      for (let at = 0; at < r.body.length; at += 64 * 1024) {
        req.write(r.body.subarray(at, at + 64 * 1024));
      }
      req.end();
    } else {
      req.end(r.body);
    }
  });
}
