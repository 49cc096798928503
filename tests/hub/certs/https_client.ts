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
}

/** Sends one request to 127.0.0.1 and reads the whole answer. */
export function httpsRequest(r: HttpsRequest): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...r.headers };
    if (r.body) headers["Content-Length"] = r.body.byteLength;
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
    req.end(r.body);
  });
}
