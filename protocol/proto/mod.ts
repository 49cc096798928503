/**
 * Loads viaduct's checked-in `message.proto` (docs/protocol.md §3.4) with protobufjs once, at module
 * load, and exposes the `message.Message` type. The .proto text is imported as text so it is part
 * of the module graph (and of a `deno compile` binary) without a file read at run time.
 *
 * @example
 * ```ts
 * import { ProtoMessage } from "./protocol/proto/mod.ts";
 * const bytes = ProtoMessage.encode(ProtoMessage.fromObject({ Content: new Uint8Array() })).finish();
 * ```
 *
 * @module
 */
import protobuf from "protobufjs";
import source from "./message.proto" with { type: "text" };

/** The .proto source text (for tests and docs). */
export const MESSAGE_PROTO_SOURCE: string = source;

const root = protobuf.parse(source, { keepCase: true }).root;

/** `message.Message { header = 1; router = 2; Content = 3 }`. */
export const ProtoMessage: protobuf.Type = root.lookupType("message.Message");
/** `message.MessageHeader`. */
export const ProtoMessageHeader: protobuf.Type = root.lookupType("message.MessageHeader");
/** `message.MessageRouter`. */
export const ProtoMessageRouter: protobuf.Type = root.lookupType("message.MessageRouter");

/** Plain-object shape of a decoded `message.Message` (proto3 defaults filled in). */
export interface ProtoMessageObject {
  header?: {
    ID?: string;
    ParentID?: string;
    /** sint64: protobufjs gives a number when it fits, a Long otherwise. */
    Timestamp?: number | string | { toNumber(): number };
    Sync?: boolean;
    MessageType?: string;
  } | null;
  router?: {
    Source?: string;
    Group?: string;
    Operation?: string;
    Resouce?: string;
  } | null;
  Content?: Uint8Array;
}
