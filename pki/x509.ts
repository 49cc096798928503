/**
 * The one entry point to `@peculiar/x509` for this project.
 *
 * `@peculiar/x509` depends on tsyringe, which throws at load unless a Reflect metadata polyfill
 * was imported first; ES modules evaluate their imports in order, so importing the polyfill
 * here, before the library, is enough. The library is also bound to Deno's WebCrypto once.
 * Import x509 from this file (or `pki/mod.ts`), never from `@peculiar/x509` directly.
 *
 * @example
 * ```ts
 * import { x509 } from "./x509.ts";
 * const cert = new x509.X509Certificate(der);
 * ```
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(crypto);

export { x509 };
