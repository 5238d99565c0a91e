/**
 * How a client's file bytes move, learned from the cluster: through the node the client
 * calls (its file service runs the data plane: single, hyperconverged), or straight between
 * the client and the data servers, when the cluster's metadata servers hold no data
 * (disaggregated). Either way each write is one mutation of the client's session, with the
 * cluster caller's retries.
 */
import { fsError } from "../common/errors.ts";
import type { DataPlane } from "../data/data-plane.ts";
import type { StatusResponse } from "../gen/sandstore/v1/file_service.ts";
import type { Inode } from "../gen/sandstore/v1/metadata.ts";
import type { ClusterCaller } from "./cluster-caller.ts";

/** Where one write goes: a byte range of one chunk slot of a file. */
export interface SlotWrite {
  readonly inodeId: number;
  readonly slotIndex: number;
  readonly offsetInSlot: number;
  /** The file's path, for errors. */
  readonly path: string;
}

/** A range of a file to read. */
export interface RangeRead {
  readonly inodeId: number;
  readonly offset: number;
  readonly length: number;
  readonly path: string;
}

/** A client's own data plane, reaching the data servers directly, and how to close it. */
export interface DirectDataPlane {
  readonly plane: DataPlane;
  close(): void;
}

/**
 * Builds a client's data plane over the metadata servers at `metadataServers` (`host:port`):
 * the client wiring's (connect.ts), since it picks implementations.
 */
export type DirectDataPlaneFactory = (metadataServers: readonly string[]) => DirectDataPlane;

/**
 * The metadata servers of a cluster whose metadata servers hold no data (their roles are
 * `metadata` alone), from its status; undefined for a cluster whose nodes move bytes.
 */
export function directMetadataServers(status: StatusResponse): string[] | undefined {
  const metadataOnly = status.nodes.filter(
    (node) => node.roles.includes("metadata") && !node.roles.includes("data"),
  );
  if (metadataOnly.length === 0) return undefined;
  return metadataOnly.map((node) => node.address);
}

export class BytePaths {
  /** The direct plane once the cluster's status said to use one; undefined: through nodes. */
  private route: Promise<DirectDataPlane | undefined> | undefined;

  constructor(
    private readonly caller: ClusterCaller,
    private readonly direct: DirectDataPlaneFactory | undefined,
  ) {}

  /** Writes `data` at `at`; resolves with the inode after the commit. */
  async write(at: SlotWrite, data: Buffer): Promise<Inode | undefined> {
    const direct = await this.directPlane();
    if (!direct)
      return (await this.caller.mutate((c, session) => c.writeChunk({ ...at, session }, data)))
        .inode;
    return this.caller.mutate((_, session) =>
      direct.plane.writeRange(at.inodeId, at.slotIndex, at.offsetInSlot, data, at.path, session),
    );
  }

  /** The bytes of `range` as the cluster has them (shorter at the end of the file). */
  async read(range: RangeRead): Promise<Buffer[]> {
    const direct = await this.directPlane();
    return this.caller.query(async (c) => {
      const out: Buffer[] = [];
      const pieces = direct
        ? direct.plane.readRange(range.inodeId, range.offset, range.length, range.path)
        : c.read(range);
      for await (const piece of pieces) out.push(piece);
      return out;
    });
  }

  /** Closes the direct plane, if one was made. */
  async close(): Promise<void> {
    (await this.route?.catch(() => undefined))?.close();
  }

  /**
   * The direct plane, when the cluster's status calls for one. Asked once; a failure to ask
   * is not kept, so the next call asks again.
   */
  private directPlane(): Promise<DirectDataPlane | undefined> {
    this.route ??= this.caller
      .query((c) => c.status())
      .then((status) => {
        const metadataServers = directMetadataServers(status);
        if (!metadataServers) return undefined;
        if (!this.direct)
          throw fsError(
            "ENOTSUP",
            "",
            `the ${status.topology} topology's clients move bytes to its data servers themselves; connect with connect()`,
          );
        return this.direct(metadataServers);
      });
    this.route.catch(() => {
      this.route = undefined;
    });
    return this.route;
  }
}
