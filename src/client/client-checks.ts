/**
 * Checks the SDK makes of replies and of its callers' numbers, before anything is sent.
 */
import { fsError } from "../common/errors.ts";
import type { Inode } from "../gen/sandstore/v1/metadata.ts";

/** The reply's inode; EIO when a reply that must carry one has none. */
export function required(inode: Inode | undefined, path: string): Inode {
  if (!inode) throw fsError("EIO", path, "reply without an inode");
  return inode;
}

/** EINVAL naming `what` unless `value` is a safe non-negative integer. */
export function checkNonNegative(value: number, what: string, path: string): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw fsError("EINVAL", path, `bad ${what} ${value}`);
}
