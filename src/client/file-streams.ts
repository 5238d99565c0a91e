/**
 * Node streams over SDK descriptors: a file read a chunk at a time, and a file written from
 * its start. Each stream owns the descriptor it opens and closes it when it ends or fails.
 */
import { Readable, Writable } from "node:stream";
import { type FileDescriptors, O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY } from "./file-descriptors.ts";

/** Streams a file's bytes, a chunk at a time, from `start` to `end` (exclusive). */
export function createReadStream(
  files: FileDescriptors,
  path: string,
  options: { start?: number; end?: number } = {},
): Readable {
  return Readable.from(
    (async function* () {
      const fd = await files.open(path, O_RDONLY);
      try {
        const chunkSize = files.chunkSizeOf(fd);
        let position = options.start ?? 0;
        const end = options.end ?? Number.MAX_SAFE_INTEGER;
        while (position < end) {
          const bytes = await files.pread(fd, Math.min(chunkSize, end - position), position);
          if (bytes.length === 0) return;
          position += bytes.length;
          yield bytes;
        }
      } finally {
        await files.close(fd);
      }
    })(),
    { objectMode: false, highWaterMark: 1 },
  );
}

/** A stream that writes a file from its start (created or truncated; mode 0644). */
export function createWriteStream(
  files: FileDescriptors,
  path: string,
  options: { flags?: number; mode?: number } = {},
): Writable {
  let fd: number | undefined;
  const ready = async () => {
    fd ??= await files.open(
      path,
      options.flags ?? O_WRONLY | O_CREAT | O_TRUNC,
      options.mode ?? 0o644,
    );
    return fd;
  };
  return new Writable({
    highWaterMark: 1024 * 1024,
    write: (chunk: Buffer, _encoding, callback) => {
      ready()
        .then((descriptor) => files.write(descriptor, chunk))
        .then(() => callback(), callback);
    },
    final: (callback) => {
      ready()
        .then((descriptor) => files.close(descriptor))
        .then(() => callback(), callback);
    },
    destroy: (error, callback) => {
      if (fd === undefined || !files.isOpen(fd)) return callback(error);
      files.close(fd).then(
        () => callback(error),
        (closeError) => callback(error ?? closeError),
      );
    },
  });
}
