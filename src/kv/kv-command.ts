/**
 * Key-value commands as they travel in the Raft log: one byte of operation, the key's length,
 * the key, then the value (the rest).
 */

/**
 * Longest key in bytes (TitanStore had no limit; this bounds memory per key). A value is
 * bounded by the protocol's 1 MiB line limit.
 */
export const MAX_KEY_BYTES = 1024;

export type KvCommand =
  | { readonly op: "set"; readonly key: Buffer; readonly value: Buffer }
  | { readonly op: "delete"; readonly key: Buffer };

const SET = 1;
const DELETE = 2;

export function encodeKvCommand(command: KvCommand): Uint8Array {
  const value = command.op === "set" ? command.value : Buffer.alloc(0);
  const out = Buffer.allocUnsafe(5 + command.key.length + value.length);
  out.writeUInt8(command.op === "set" ? SET : DELETE, 0);
  out.writeUInt32BE(command.key.length, 1);
  command.key.copy(out, 5);
  value.copy(out, 5 + command.key.length);
  return out;
}

export function decodeKvCommand(data: Uint8Array): KvCommand {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const op = bytes.readUInt8(0);
  const keyLength = bytes.readUInt32BE(1);
  const key = bytes.subarray(5, 5 + keyLength);
  if (op === SET) return { op: "set", key, value: bytes.subarray(5 + keyLength) };
  if (op === DELETE) return { op: "delete", key };
  throw new Error(`unknown key-value operation ${op}`);
}
