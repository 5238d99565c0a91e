/**
 * POSIX permission rules, as the namespace state machine applies them (so every replica
 * decides alike) and as reads check them: the owner, group and other classes of the mode
 * bits, root's exemption, the sticky bit, and who may change modes, times and owners.
 *
 * A caller of `undefined` is root: the cluster runs with `--auth off`, or the command is the
 * cluster's own (repair).
 */
import type { Caller, Inode } from "../gen/sandstore/v1/metadata.ts";

/** access(2)'s bits: what a caller asks to do with an inode. */
export const R_OK = 4;
export const W_OK = 2;
export const X_OK = 1;
/** The sticky bit: in a directory, only an entry's owner, the directory's owner or root may remove or rename the entry. */
export const S_ISVTX = 0o1000;
/** The set-group-id bit: in a directory, new entries take the directory's group. */
export const S_ISGID = 0o2000;

/** The uid with every permission. */
export const ROOT_UID = 0;

export function isRoot(caller: Caller | undefined): boolean {
  return caller === undefined || caller.uid === ROOT_UID;
}

/** True when `caller` is in group `gid` (its primary group or a supplementary one). */
export function inGroup(caller: Caller, gid: number): boolean {
  return caller.gid === gid || caller.groups.includes(gid);
}

/**
 * True when `caller` may do `want` (R_OK | W_OK | X_OK bits) to `inode`. The class is chosen
 * as POSIX does: the owner's bits for the owner, else the group's for a member, else other's;
 * one class only, so an owner without a bit does not fall back to the group's. Root may do
 * anything.
 */
export function mayAccess(inode: Inode, caller: Caller | undefined, want: number): boolean {
  if (caller === undefined || caller.uid === ROOT_UID) return true;
  const shift = caller.uid === inode.uid ? 6 : inGroup(caller, inode.gid) ? 3 : 0;
  const granted = (inode.mode >> shift) & 7;
  return (granted & want) === want;
}

/** True when `caller` owns `inode` or is root: who may chmod and set times. */
export function ownsOrRoot(inode: Inode, caller: Caller | undefined): boolean {
  return isRoot(caller) || caller?.uid === inode.uid;
}

/**
 * True when the sticky bit of `dir` lets `caller` remove or rename `entry` from it: always
 * without the bit; with it, only the entry's owner, the directory's owner, or root.
 */
export function stickyAllows(dir: Inode, entry: Inode, caller: Caller | undefined): boolean {
  if ((dir.mode & S_ISVTX) === 0 || isRoot(caller)) return true;
  return caller?.uid === entry.uid || caller?.uid === dir.uid;
}

/**
 * True when `caller` may give `inode` the owner `uid` and group `gid` (chown): root may give
 * any; an owner may only keep the owner and choose one of its own groups.
 */
export function mayChown(
  inode: Inode,
  caller: Caller | undefined,
  uid: number,
  gid: number,
): boolean {
  if (isRoot(caller) || caller === undefined) return true;
  if (caller.uid !== inode.uid || uid !== inode.uid) return false;
  return gid === inode.gid || inGroup(caller, gid);
}
