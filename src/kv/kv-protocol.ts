/**
 * The plaintext protocol of SPEC §5, as pure functions: a line in, a request or a usage error
 * out. One command per line; names are case-insensitive; the value is everything after the
 * key's single separating space.
 */
import { MAX_KEY_BYTES } from "./kv-command.ts";

/** Longest line, terminator excluded; a longer one closes the connection. */
export const MAX_LINE_BYTES = 1024 * 1024;

export type KvRequest =
  | { readonly kind: "get"; readonly key: Buffer }
  | { readonly kind: "set"; readonly key: Buffer; readonly value: Buffer }
  | { readonly kind: "delete"; readonly key: Buffer }
  /** A line that gets an error reply without touching the store. */
  | { readonly kind: "error"; readonly reply: string };

const USAGE = {
  GET: "ERR usage: GET <key>",
  SET: "ERR usage: SET <key> <value>",
  DELETE: "ERR usage: DELETE <key>",
} as const;

const SPACE = 0x20;

/** Parses one line (without its `\n`; a trailing `\r` is ignored). */
export function parseRequest(raw: Buffer): KvRequest {
  const line =
    raw.length > 0 && raw[raw.length - 1] === 0x0d ? raw.subarray(0, raw.length - 1) : raw;
  const nameEnd = line.indexOf(SPACE);
  const name = line
    .subarray(0, nameEnd < 0 ? line.length : nameEnd)
    .toString("latin1")
    .toUpperCase();
  const rest = nameEnd < 0 ? undefined : line.subarray(nameEnd + 1);
  switch (name) {
    case "GET":
    case "DELETE": {
      if (!rest || rest.length === 0 || rest.includes(SPACE))
        return { kind: "error", reply: USAGE[name] };
      if (rest.length > MAX_KEY_BYTES)
        return { kind: "error", reply: `ERR key longer than ${MAX_KEY_BYTES} bytes` };
      return { kind: name === "GET" ? "get" : "delete", key: Buffer.from(rest) };
    }
    case "SET": {
      const keyEnd = rest ? rest.indexOf(SPACE) : -1;
      if (!rest || keyEnd <= 0) return { kind: "error", reply: USAGE.SET };
      if (keyEnd > MAX_KEY_BYTES)
        return { kind: "error", reply: `ERR key longer than ${MAX_KEY_BYTES} bytes` };
      return {
        kind: "set",
        key: Buffer.from(rest.subarray(0, keyEnd)),
        value: Buffer.from(rest.subarray(keyEnd + 1)),
      };
    }
    default:
      // The name as sent, upper-cased; quotes and control bytes in it are escaped so the reply
      // stays one line.
      return {
        kind: "error",
        reply: `ERR unknown command ${JSON.stringify(
          line
            .subarray(0, nameEnd < 0 ? line.length : nameEnd)
            .toString("utf8")
            .toUpperCase(),
        )}`,
      };
  }
}

/** The reply line for a value read. */
export function valueReply(value: Buffer | undefined): Buffer {
  return value === undefined
    ? Buffer.from("NOT_FOUND\n")
    : Buffer.concat([Buffer.from("VALUE "), value, Buffer.from("\n")]);
}
