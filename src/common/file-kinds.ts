/**
 * The kinds of file the namespace holds, as the SDK names them, and what each kind allows:
 * only a regular file's bytes go through the store.
 */
import { FileType } from "../gen/sandstore/v1/metadata.ts";

/** Every kind, in the order the namespace's FileType numbers them; the last four are special. */
export const FILE_KINDS = [
  "file",
  "directory",
  "symlink",
  "fifo",
  "socket",
  "char-device",
  "block-device",
] as const;

export type FileKind = (typeof FILE_KINDS)[number];

/** The kinds `mknod` makes: files whose I/O is a kernel's, never the store's. */
export const SPECIAL_KINDS = ["fifo", "socket", "char-device", "block-device"] as const;

export type SpecialKind = (typeof SPECIAL_KINDS)[number];

const TYPE_OF_KIND: Record<FileKind, FileType> = {
  file: FileType.FILE_TYPE_REGULAR,
  directory: FileType.FILE_TYPE_DIRECTORY,
  symlink: FileType.FILE_TYPE_SYMLINK,
  fifo: FileType.FILE_TYPE_FIFO,
  socket: FileType.FILE_TYPE_SOCKET,
  "char-device": FileType.FILE_TYPE_CHAR_DEVICE,
  "block-device": FileType.FILE_TYPE_BLOCK_DEVICE,
};

const KIND_OF_TYPE = new Map(FILE_KINDS.map((kind) => [TYPE_OF_KIND[kind], kind]));

const SPECIAL_TYPES: ReadonlySet<FileType> = new Set(
  SPECIAL_KINDS.map((kind) => TYPE_OF_KIND[kind]),
);

/** The kind of an inode of `type`; "file" for a type this version does not know. */
export function kindOf(type: FileType): FileKind {
  return KIND_OF_TYPE.get(type) ?? "file";
}

/** The namespace's type for a special kind; undefined for anything else. */
export function specialType(kind: string): FileType | undefined {
  if (!isFileKind(kind)) return undefined;
  const type = TYPE_OF_KIND[kind];
  return SPECIAL_TYPES.has(type) ? type : undefined;
}

function isFileKind(value: string): value is FileKind {
  return (FILE_KINDS as readonly string[]).includes(value);
}

/** True for the types `mknod` makes. */
export function isSpecialType(type: FileType): boolean {
  return SPECIAL_TYPES.has(type);
}

/**
 * Why the store cannot read or write the bytes of an inode of `type`, as a POSIX code: EISDIR
 * for a directory, ELOOP for a symbolic link (the store never follows one: O_NOFOLLOW's
 * answer), ENOTSUP for a special file; undefined for a regular file.
 */
export function notRegularErrno(type: FileType): "EISDIR" | "ELOOP" | "ENOTSUP" | undefined {
  if (type === FileType.FILE_TYPE_REGULAR) return undefined;
  if (type === FileType.FILE_TYPE_DIRECTORY) return "EISDIR";
  if (type === FileType.FILE_TYPE_SYMLINK) return "ELOOP";
  return "ENOTSUP";
}
