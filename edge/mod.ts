/**
 * The edge side: a client speaking edgecore's protocol (for tests, benchmarks and the edge
 * simulator), and the bootstrap against the cert server.
 *
 * @module
 */
export * from "./client.ts";
export * from "./ws_transport.ts";
export * from "./bootstrap.ts";
export * from "./metaserver_client.ts";
