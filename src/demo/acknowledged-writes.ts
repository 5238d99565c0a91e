/**
 * The files a demo wrote and the cluster acknowledged, with a digest of each: what must still
 * be there, byte for byte, after every fault. A write that failed or timed out is not here; it
 * may or may not have happened, and nothing was promised about it.
 */
import { createHash } from "node:crypto";
import type { SandstoreClient } from "../client/sandstore-client.ts";
import { O_CREAT, O_TRUNC, O_WRONLY } from "../index.ts";

/** What a final check found. */
export interface WriteCheck {
  readonly checked: number;
  /** Paths whose contents were missing or different, each with what was found. */
  readonly lost: readonly string[];
}

/** Bytes of a demo file `path` of `size` bytes: its name repeated, so each file differs. */
export function demoFileContents(path: string, size: number): Buffer {
  const unit = Buffer.from(`${path}\n`);
  const data = Buffer.alloc(size);
  for (let at = 0; at < size; at += unit.length) unit.copy(data, at);
  return data;
}

function digest(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export class AcknowledgedWrites {
  private readonly files = new Map<string, string>();

  /** Files acknowledged so far. */
  get count(): number {
    return this.files.size;
  }

  /**
   * Writes `data` as the whole of `path` through `client` and records it once the close is
   * acknowledged. Throws the client's error when it is not, recording nothing.
   */
  async write(client: SandstoreClient, path: string, data: Buffer): Promise<void> {
    const fd = await client.open(path, O_CREAT | O_WRONLY | O_TRUNC);
    try {
      for (let at = 0; at < data.length; ) at += await client.write(fd, data.subarray(at));
    } finally {
      await client.close(fd);
    }
    this.files.set(path, digest(data));
  }

  /** Reads every acknowledged file back through `client` and compares its digest. */
  async verify(client: SandstoreClient): Promise<WriteCheck> {
    const lost: string[] = [];
    for (const [path, expected] of this.files) {
      try {
        const hash = createHash("sha256");
        for await (const piece of client.createReadStream(path)) hash.update(piece as Buffer);
        if (hash.digest("hex") !== expected) lost.push(`${path}: different contents`);
      } catch (error) {
        lost.push(`${path}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return { checked: this.files.size, lost };
  }
}
