/**
 * A client's book of the chunk capabilities and data server addresses that the metadata
 * servers handed it with intents and read plans: what its data plane presents to the data
 * servers, chunk by chunk. Shared by the client's control plane, which fills it, and its
 * replica access, which reads it.
 */
import type { NodeInfo } from "../membership/membership.ts";
import type { ChunkGrant, ChunkOperation } from "./chunk-capability.ts";

/**
 * Grants kept: a read of a 64 MiB range at the smallest chunk size names 16,384 chunks, and
 * a grant is used within seconds of being handed out. Past this, the oldest go first.
 */
const MAX_GRANTS = 20_000;
/** Data server addresses kept: as many as a metadata server tracks (MAX_DATA_SERVERS). */
const MAX_ADDRESSES = 1024;

export class ChunkGrantBook {
  private readonly grants = new Map<string, ChunkGrant>();
  private readonly addresses = new Map<string, string>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Remembers `grants` and where `nodes` listen. */
  remember(grants: readonly ChunkGrant[], nodes: readonly NodeInfo[]): void {
    for (const grant of grants) {
      const key = `${grant.operation}/${grant.chunkId}`;
      this.grants.delete(key);
      this.grants.set(key, grant);
    }
    for (const node of nodes) {
      this.addresses.delete(node.id);
      this.addresses.set(node.id, node.address);
    }
    trim(this.grants, MAX_GRANTS);
    trim(this.addresses, MAX_ADDRESSES);
  }

  /**
   * A live grant allowing `operation` on `chunkId` (a write grant allows a read and a
   * delete too), undefined when there is none.
   */
  grant(chunkId: string, operation: ChunkOperation | "delete"): ChunkGrant | undefined {
    const now = this.now();
    const keys =
      operation === "read" ? [`read/${chunkId}`, `write/${chunkId}`] : [`write/${chunkId}`];
    for (const key of keys) {
      const grant = this.grants.get(key);
      if (grant && grant.expiresAtMs > now) return grant;
    }
    return undefined;
  }

  /** Where data server `nodeId` listens, as the metadata last said. */
  addressOf(nodeId: string): string | undefined {
    return this.addresses.get(nodeId);
  }
}

/** Drops a map's oldest entries (insertion order) down to `limit`. */
function trim<V>(map: Map<string, V>, limit: number): void {
  for (const key of map.keys()) {
    if (map.size <= limit) return;
    map.delete(key);
  }
}
