/**
 * Encoders for the messages that carry chunk bytes (a piece of a write or of a read), and the
 * file and chunk services with them in place of the generated ones.
 *
 * The generated encoder copies a 1 MiB piece about four times on its way out (the writer's
 * growing buffer, the piece, `finish`, `Buffer.from`) and the decoder once on its way in.
 * These messages hold one `bytes` field and nothing else, so their wire form is a tag, a
 * length and the bytes: written with one copy, read as a view of the received buffer (which
 * grpc-js allocates per message, so the view owns its memory). Every other message, and any
 * such message that is not in that shape, goes through the generated code.
 */
import { makeGenericClientConstructor, type ServiceDefinition } from "@grpc/grpc-js";
import { type ChunkServiceClient, ChunkServiceService } from "../gen/sandstore/v1/chunk_service.ts";
import { type FileServiceClient, FileServiceService } from "../gen/sandstore/v1/file_service.ts";

/** Wire type of length-delimited fields. */
const LENGTH_DELIMITED = 2;

function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    length++;
  }
  return length;
}

function writeVarint(target: Buffer, at: number, value: number): number {
  while (value >= 0x80) {
    target[at++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  target[at++] = value;
  return at;
}

/**
 * The wire form of a message whose only field is `bytes` field `field` holding `data`: one
 * buffer, `data` copied once. `field` is below 16, so its tag is one byte.
 */
export function encodeBytesMessage(field: number, data: Uint8Array): Buffer {
  if (!Number.isInteger(field) || field < 1 || field > 15)
    throw new RangeError(`field ${field} is not a one-byte tag`);
  const headerLength = 1 + varintLength(data.byteLength);
  const out = Buffer.allocUnsafe(headerLength + data.byteLength);
  out[0] = (field << 3) | LENGTH_DELIMITED;
  writeVarint(out, 1, data.byteLength);
  out.set(data, headerLength);
  return out;
}

/**
 * The bytes of field `field` when `wire` is exactly one such field (the form
 * `encodeBytesMessage` writes), as a view of `wire`; undefined for any other message, which
 * the caller decodes in full.
 */
export function decodeBytesMessage(wire: Buffer, field: number): Buffer | undefined {
  if (wire.length < 2 || wire[0] !== ((field << 3) | LENGTH_DELIMITED)) return undefined;
  let length = 0;
  let scale = 1;
  let at = 1;
  // A length that fits a buffer takes at most 5 varint bytes.
  for (; at < Math.min(wire.length, 6); at++) {
    const byte = wire[at]!;
    length += (byte & 0x7f) * scale;
    scale *= 0x80;
    if (byte < 0x80) {
      at++;
      return at + length === wire.length ? wire.subarray(at) : undefined;
    }
  }
  return undefined;
}

/** A streamed request whose pieces are the `data` variant (field 2) of its oneof `part`. */
type PieceRequest = { part?: { $case: string; value: unknown } };
/** A streamed reply whose pieces are its one `data` field (field 1): both read replies. */
type PieceReply = { data: Buffer };

/** One-copy codecs for the request stream of a write method, others left as generated. */
function pieceRequests<T extends PieceRequest>(method: {
  requestSerialize: (value: T) => Buffer;
  requestDeserialize: (wire: Buffer) => T;
}) {
  return {
    requestSerialize: (value: T) =>
      value.part?.$case === "data" && value.part.value instanceof Uint8Array
        ? encodeBytesMessage(2, value.part.value)
        : method.requestSerialize(value),
    requestDeserialize: (wire: Buffer): T => {
      const data = decodeBytesMessage(wire, 2);
      // The generated type of the data variant is exactly this: `{ $case: "data", value }`.
      return data
        ? ({ part: { $case: "data", value: data } } as T)
        : method.requestDeserialize(wire);
    },
  };
}

/** One-copy codecs for the reply stream of a read method. */
function pieceReplies(method: { responseDeserialize: (wire: Buffer) => PieceReply }) {
  return {
    responseSerialize: (value: PieceReply) => encodeBytesMessage(1, value.data),
    responseDeserialize: (wire: Buffer): PieceReply => {
      const data = decodeBytesMessage(wire, 1);
      return data ? { data } : method.responseDeserialize(wire);
    },
  };
}

const file = FileServiceService;
/** The file service with one-copy encoders for write pieces and read pieces. */
export const BulkFileServiceService: typeof FileServiceService = {
  ...file,
  writeChunk: { ...file.writeChunk, ...pieceRequests(file.writeChunk) },
  read: { ...file.read, ...pieceReplies(file.read) },
};

const chunk = ChunkServiceService;
/** The chunk service with one-copy encoders for chunk pieces both ways. */
export const BulkChunkServiceService: typeof ChunkServiceService = {
  ...chunk,
  writeChunk: { ...chunk.writeChunk, ...pieceRequests(chunk.writeChunk) },
  readChunk: { ...chunk.readChunk, ...pieceReplies(chunk.readChunk) },
};

/** A file service client speaking through `BulkFileServiceService`. */
export const BulkFileServiceClient = makeClient<typeof FileServiceClient>(
  BulkFileServiceService,
  "sandstore.v1.FileService",
);
/** A chunk service client speaking through `BulkChunkServiceService`. */
export const BulkChunkServiceClient = makeClient<typeof ChunkServiceClient>(
  BulkChunkServiceService,
  "sandstore.v1.ChunkService",
);

/** A client constructor for `service`, typed as the generated one it stands in for. */
function makeClient<C>(service: ServiceDefinition, name: string): C {
  return makeGenericClientConstructor(service, name) as unknown as C;
}
