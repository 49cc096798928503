/**
 * The module bus and KubeEdge's message model: what every other folder may import.
 *
 * @module
 */
export * from "./constants.ts";
export * from "./message.ts";
export * from "./resource.ts";
export * from "./bus.ts";
export * from "./module.ts";
export { Inbox } from "./inbox.ts";
