/**
 * The byte form of a namespace snapshot: a sequence of records
 *
 *   u8 table | u32 payload length | payload
 *
 * one per stored record (inodes, directory entries, chunk slots, chunk references, counters,
 * sessions and their results, users).
 * Written to a file and streamed; read back piece by piece.
 */
import {
  ChunkSlot,
  Inode,
  SessionRecord,
  SessionResult,
  UserRecord,
} from "../gen/sandstore/v1/metadata.ts";
import type { CounterName, NamespaceRecord } from "./namespace-tables.ts";

const INODE = 1;
const CHILD = 2;
const SLOT = 3;
const CHUNK_REF = 4;
const COUNTER = 5;
const SESSION = 6;
const SESSION_RESULT = 7;
const USER = 8;
const DRAINING = 9;
const MEMBER_ADDRESS = 10;

function withId(id: number, rest: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(8 + rest.length);
  out.writeBigUInt64BE(BigInt(id), 0);
  out.set(rest, 8);
  return out;
}

/** One record as bytes. */
export function encodeNamespaceRecord(record: NamespaceRecord): Buffer {
  let table: number;
  let payload: Uint8Array;
  switch (record.table) {
    case "inode":
      table = INODE;
      payload = Inode.encode(record.inode).finish();
      break;
    case "child": {
      table = CHILD;
      const name = Buffer.from(record.name, "utf8");
      payload = withId(record.parentId, withId(record.id, name));
      break;
    }
    case "slot":
      table = SLOT;
      payload = withId(record.inodeId, ChunkSlot.encode(record.slot).finish());
      break;
    case "chunkRef":
      table = CHUNK_REF;
      payload = withId(record.inodeId, Buffer.from(record.chunkId, "utf8"));
      break;
    case "counter":
      table = COUNTER;
      payload = withId(record.value, Buffer.from(record.name, "utf8"));
      break;
    case "session":
      table = SESSION;
      payload = SessionRecord.encode(record.session).finish();
      break;
    case "sessionResult":
      table = SESSION_RESULT;
      payload = SessionResult.encode(record.result).finish();
      break;
    case "user":
      table = USER;
      payload = UserRecord.encode(record.user).finish();
      break;
    case "draining":
      table = DRAINING;
      payload = Buffer.from(record.nodeId, "utf8");
      break;
    case "memberAddress":
      table = MEMBER_ADDRESS;
      payload = Buffer.from(JSON.stringify([record.nodeId, record.address]), "utf8");
      break;
  }
  const out = Buffer.allocUnsafe(5 + payload.length);
  out.writeUInt8(table, 0);
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, 5);
  return out;
}

/**
 * Decodes the whole records at the start of `bytes`; returns them and how many bytes they
 * used (the rest is the start of a record cut by a piece boundary).
 */
export function decodeNamespaceRecords(bytes: Buffer): {
  records: NamespaceRecord[];
  used: number;
} {
  const records: NamespaceRecord[] = [];
  let at = 0;
  while (bytes.length - at >= 5) {
    const length = bytes.readUInt32BE(at + 1);
    if (bytes.length - at < 5 + length) break;
    const table = bytes.readUInt8(at);
    const payload = bytes.subarray(at + 5, at + 5 + length);
    const id = () => Number(payload.readBigUInt64BE(0));
    switch (table) {
      case INODE:
        records.push({ table: "inode", inode: Inode.decode(payload) });
        break;
      case CHILD:
        records.push({
          table: "child",
          parentId: id(),
          id: Number(payload.readBigUInt64BE(8)),
          name: payload.subarray(16).toString("utf8"),
        });
        break;
      case SLOT:
        records.push({ table: "slot", inodeId: id(), slot: ChunkSlot.decode(payload.subarray(8)) });
        break;
      case CHUNK_REF:
        records.push({
          table: "chunkRef",
          inodeId: id(),
          chunkId: payload.subarray(8).toString("utf8"),
        });
        break;
      case COUNTER:
        records.push({
          table: "counter",
          value: id(),
          name: payload.subarray(8).toString("utf8") as CounterName,
        });
        break;
      case SESSION:
        records.push({ table: "session", session: SessionRecord.decode(payload) });
        break;
      case SESSION_RESULT:
        records.push({ table: "sessionResult", result: SessionResult.decode(payload) });
        break;
      case USER:
        records.push({ table: "user", user: UserRecord.decode(payload) });
        break;
      case DRAINING:
        records.push({ table: "draining", nodeId: Buffer.from(payload).toString("utf8") });
        break;
      case MEMBER_ADDRESS: {
        const [nodeId, address] = parseMemberAddress(Buffer.from(payload).toString("utf8"), at);
        records.push({ table: "memberAddress", nodeId, address });
        break;
      }
      default:
        throw new Error(`namespace snapshot: unknown record table ${table} at byte ${at}`);
    }
    at += 5 + length;
  }
  return { records, used: at };
}

/** A member address record's payload, `[id, address]` as JSON; throws naming the offset. */
function parseMemberAddress(text: string, at: number): [string, string] {
  const parsed: unknown = JSON.parse(text);
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    typeof parsed[0] !== "string" ||
    typeof parsed[1] !== "string"
  )
    throw new Error(`namespace snapshot: malformed member address record at byte ${at}`);
  return [parsed[0], parsed[1]];
}
