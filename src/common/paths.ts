/**
 * Path rules of SPEC §3, checked at the edge (SDK and server) and trusted inside.
 */
import { fsError } from "./errors.ts";

/** Longest path in bytes of UTF-8. */
export const MAX_PATH_BYTES = 4096;
/** Longest name (one path component) in bytes of UTF-8. */
export const MAX_NAME_BYTES = 255;

/**
 * Validates and normalizes an absolute path: collapses repeated and trailing slashes.
 * Throws EINVAL for a relative path, a NUL byte, or a `.`/`..` component, and ENAMETOOLONG
 * for a path over 4096 bytes or a name over 255 bytes.
 */
export function normalizePath(path: string): string {
  if (typeof path !== "string" || path.length === 0) {
    throw fsError("EINVAL", String(path), "path is empty");
  }
  if (!path.startsWith("/")) throw fsError("EINVAL", path, "path must be absolute");
  if (path.includes("\0")) throw fsError("EINVAL", path.replace(/\0/g, "\\0"), "path contains NUL");
  if (Buffer.byteLength(path, "utf8") > MAX_PATH_BYTES) {
    throw fsError("ENAMETOOLONG", `${path.slice(0, 64)}...`, `path over ${MAX_PATH_BYTES} bytes`);
  }
  const names = splitPath(path);
  for (const name of names) validateName(name, path);
  return names.length === 0 ? "/" : `/${names.join("/")}`;
}

/** The names of a path's components, root first; `/` has none. Does not validate. */
export function splitPath(path: string): string[] {
  return path.split("/").filter((part) => part.length > 0);
}

/** Throws EINVAL or ENAMETOOLONG when `name` is not a valid single component of `path`. */
export function validateName(name: string, path: string): void {
  if (name === "." || name === "..") {
    throw fsError("EINVAL", path, `"${name}" is not allowed in a path`);
  }
  if (name.includes("/") || name.includes("\0")) throw fsError("EINVAL", path, "bad name");
  if (Buffer.byteLength(name, "utf8") > MAX_NAME_BYTES) {
    throw fsError("ENAMETOOLONG", path, `name over ${MAX_NAME_BYTES} bytes`);
  }
}

/** Longest symbolic link target in bytes of UTF-8 (PATH_MAX less its NUL). */
export const MAX_SYMLINK_TARGET_BYTES = 4095;

/**
 * What is wrong with a symbolic link's target, or undefined when nothing is: it may be any
 * string a path could be, relative or absolute, dangling or not, but not empty, not holding
 * NUL, and at most MAX_SYMLINK_TARGET_BYTES.
 */
export function symlinkTargetProblem(
  target: string,
): { code: "EINVAL" | "ENAMETOOLONG"; detail: string } | undefined {
  if (target.length === 0) return { code: "EINVAL", detail: "symlink target is empty" };
  if (target.includes("\0")) return { code: "EINVAL", detail: "symlink target contains NUL" };
  if (Buffer.byteLength(target, "utf8") > MAX_SYMLINK_TARGET_BYTES)
    return {
      code: "ENAMETOOLONG",
      detail: `symlink target over ${MAX_SYMLINK_TARGET_BYTES} bytes`,
    };
  return undefined;
}

/** The parent path and last name of a normalized path other than `/`. */
export function parentAndName(path: string): { parent: string; name: string } {
  const slash = path.lastIndexOf("/");
  return { parent: slash === 0 ? "/" : path.slice(0, slash), name: path.slice(slash + 1) };
}

/** True when normalized `path` is `ancestor` or lies below it. */
export function isSameOrBelow(path: string, ancestor: string): boolean {
  if (ancestor === "/") return true;
  return path === ancestor || path.startsWith(`${ancestor}/`);
}
