import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ChunkServiceReadChunkResponse } from "../gen/sandstore/v1/chunk_service.ts";
import { ReadResponse, WriteChunkRequest } from "../gen/sandstore/v1/file_service.ts";
import {
  BulkChunkServiceService,
  BulkFileServiceService,
  decodeBytesMessage,
  encodeBytesMessage,
} from "./bulk-data-codec.ts";

const wire = (bytes: Uint8Array) => Buffer.from(bytes);

test("property: the one-copy encoding is what the generated decoder reads, and back", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        // Lengths around varint boundaries: 127/128, 16383/16384.
        fc.constantFrom(127, 128, 16_383, 16_384, 1 << 20).map((n) => new Uint8Array(n).fill(7)),
      ),
      (data) => {
        const ours = encodeBytesMessage(1, data);
        assert.deepEqual(Buffer.from(ReadResponse.decode(ours).data), Buffer.from(data));
        const theirs = wire(ReadResponse.encode({ data: Buffer.from(data) }).finish());
        if (data.length > 0) assert.deepEqual(ours, theirs, "byte for byte the generated form");
        assert.deepEqual(decodeBytesMessage(ours, 1), Buffer.from(data));
      },
    ),
  );
});

test("a decoded piece is a view of the received buffer, not a copy", () => {
  const received = encodeBytesMessage(1, Buffer.from("piece"));
  const data = decodeBytesMessage(received, 1)!;
  assert.equal(data.buffer, received.buffer);
  assert.equal(data.toString(), "piece");
});

test("messages of any other shape are left to the generated decoder", () => {
  const header = wire(
    WriteChunkRequest.encode({
      part: { $case: "header", value: { inodeId: 3, slotIndex: 1, offsetInSlot: 0, path: "/f" } },
    }).finish(),
  );
  assert.equal(decodeBytesMessage(header, 2), undefined, "another field");
  const data = encodeBytesMessage(2, Buffer.from("abc"));
  assert.equal(decodeBytesMessage(data.subarray(0, data.length - 1), 2), undefined, "short");
  assert.equal(decodeBytesMessage(Buffer.concat([data, data]), 2), undefined, "two fields");
  assert.equal(decodeBytesMessage(Buffer.from([0x12, 0xff, 0xff, 0xff, 0xff, 0xff]), 2), undefined);
  assert.throws(() => encodeBytesMessage(16, Buffer.alloc(1)), RangeError);
});

test("the services' codecs round-trip data pieces and every other message alike", () => {
  const write = BulkFileServiceService.writeChunk;
  const piece = { part: { $case: "data" as const, value: Buffer.from("bytes") } };
  assert.deepEqual(write.requestDeserialize(write.requestSerialize(piece)), piece);
  const header = {
    part: {
      $case: "header" as const,
      value: { inodeId: 9, slotIndex: 2, offsetInSlot: 5, path: "/p" },
    },
  };
  assert.deepEqual(
    write.requestDeserialize(write.requestSerialize(header)),
    WriteChunkRequest.decode(WriteChunkRequest.encode(header).finish()),
  );
  const read = BulkChunkServiceService.readChunk;
  const reply = read.responseDeserialize(read.responseSerialize({ data: Buffer.from("chunk") }));
  assert.equal(Buffer.from(reply.data).toString(), "chunk");
  assert.deepEqual(
    ChunkServiceReadChunkResponse.decode(read.responseSerialize({ data: Buffer.from("c") })).data,
    Buffer.from("c"),
  );
  const chunkWrite = BulkChunkServiceService.writeChunk;
  const id = { part: { $case: "chunkId" as const, value: "a".repeat(32) } };
  assert.deepEqual(chunkWrite.requestDeserialize(chunkWrite.requestSerialize(id)), id);
});
