/**
 * `@peculiar/x509` for the embedded API, bound to Deno's WebCrypto.
 *
 * The Reflect metadata polyfill must load before the library (its tsyringe dependency throws at
 * load otherwise); ES modules evaluate imports in order, so importing it first here suffices.
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(crypto);

export { x509 };
