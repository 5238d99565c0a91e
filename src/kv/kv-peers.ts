/**
 * TitanStore's peer list: `id:host:raftPort:clientPort,...`, with IPv6 hosts in brackets
 * (`n2:[::1]:5002:6002`). Validated at start with errors that name the bad entry.
 */

export interface KvPeer {
  readonly id: string;
  readonly host: string;
  readonly raftPort: number;
  readonly clientPort: number;
}

const PEER = /^([A-Za-z0-9_.-]+):(\[[0-9A-Fa-f:.]+\]|[^:\s[\]]+):(\d{1,5}):(\d{1,5})$/;

function port(text: string, what: string, entry: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new RangeError(`peer "${entry}": ${what} ${text} is not a port (1-65535)`);
  return n;
}

/** Parses and checks a peer list; `selfId` must not be in it. Empty text: no peers. */
export function parsePeers(text: string, selfId: string): KvPeer[] {
  if (text.trim() === "") return [];
  const peers = text.split(",").map((raw) => {
    const entry = raw.trim();
    const match = PEER.exec(entry);
    if (!match) throw new RangeError(`peer "${entry}" is not id:host:raftPort:clientPort`);
    return {
      id: match[1]!,
      host: match[2]!,
      raftPort: port(match[3]!, "raft port", entry),
      clientPort: port(match[4]!, "client port", entry),
    };
  });
  const seen = new Set<string>();
  for (const peer of peers) {
    if (peer.id === selfId)
      throw new RangeError(
        `peer list names this node (${selfId}) itself; list only the other nodes`,
      );
    if (seen.has(peer.id)) throw new RangeError(`peer id ${peer.id} appears twice`);
    seen.add(peer.id);
  }
  return peers;
}
