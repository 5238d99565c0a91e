/**
 * The `memory` Transport: file-service calls between objects in one process, through a
 * `MemoryNetwork` that tests can cut and heal. Calls behave as they do over gRPC where it
 * matters to callers: arguments and results are copied (no shared buffers), an unreachable
 * address fails with UnavailableError (EAGAIN), and a call over its deadline with
 * UnavailableError (ETIMEDOUT).
 */
import { fsError, UnavailableError } from "../common/errors.ts";
import type { CallInfo, FileServiceApi } from "./file-service-api.ts";
import type { Connection, ConnectOptions, Listener, Transport } from "./transport.ts";

/** Listening addresses in one process, and the ones cut off. */
export class MemoryNetwork {
  private readonly servers = new Map<string, FileServiceApi>();
  private readonly cut = new Set<string>();
  private nextPort = 40_000;

  /** Serves `api` on `address`; port 0 picks a free one. Throws EEXIST when it is taken. */
  bind(address: string, api: FileServiceApi): string {
    const host = address.slice(0, address.lastIndexOf(":"));
    const bound = address.endsWith(":0") ? `${host}:${this.nextPort++}` : address;
    if (this.servers.has(bound)) throw fsError("EEXIST", bound, "address in use");
    this.servers.set(bound, api);
    return bound;
  }

  unbind(address: string): void {
    this.servers.delete(address);
  }

  /** Calls to `address` fail as if its node were unreachable, until `heal`. */
  isolate(address: string): void {
    this.cut.add(address);
  }

  heal(address?: string): void {
    if (address === undefined) this.cut.clear();
    else this.cut.delete(address);
  }

  /** The server at `address`, or UnavailableError. */
  reach(address: string): FileServiceApi {
    const api = this.cut.has(address) ? undefined : this.servers.get(address);
    if (!api) throw new UnavailableError("EAGAIN", address, "unreachable");
    return api;
  }
}

/** A deep copy through structured clone: what crosses the "wire" shares nothing. */
const copy = <T>(value: T): T => structuredClone(value);

class MemoryConnection implements Connection {
  private readonly timeoutMs: number;
  /** What the server learns of each call: this connection's credentials, from "memory". */
  private readonly info: CallInfo;

  constructor(
    private readonly network: MemoryNetwork,
    readonly address: string,
    options: ConnectOptions | undefined,
  ) {
    this.timeoutMs = options?.callTimeoutMs ?? 60_000;
    this.info = { source: "memory", credentials: options?.credentials };
  }

  private async call<T>(run: (api: FileServiceApi) => Promise<T>): Promise<T> {
    const api = this.network.reach(this.address);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new UnavailableError("ETIMEDOUT", this.address, "did not answer in time")),
        this.timeoutMs,
      );
    });
    try {
      return copy(await Promise.race([run(api), deadline]));
    } finally {
      clearTimeout(timer);
    }
  }

  stat: Connection["stat"] = (r) => this.call((api) => api.stat(copy(r), this.info));
  create: Connection["create"] = (r) => this.call((api) => api.create(copy(r), this.info));
  mkdir: Connection["mkdir"] = (r) => this.call((api) => api.mkdir(copy(r), this.info));
  rmdir: Connection["rmdir"] = (r) => this.call((api) => api.rmdir(copy(r), this.info));
  unlink: Connection["unlink"] = (r) => this.call((api) => api.unlink(copy(r), this.info));
  rename: Connection["rename"] = (r) => this.call((api) => api.rename(copy(r), this.info));
  link: Connection["link"] = (r) => this.call((api) => api.link(copy(r), this.info));
  symlink: Connection["symlink"] = (r) => this.call((api) => api.symlink(copy(r), this.info));
  mknod: Connection["mknod"] = (r) => this.call((api) => api.mknod(copy(r), this.info));
  setAttr: Connection["setAttr"] = (r) => this.call((api) => api.setAttr(copy(r), this.info));
  readDir: Connection["readDir"] = (r) => this.call((api) => api.readDir(copy(r), this.info));
  status: Connection["status"] = (r) => this.call((api) => api.status(r && copy(r)));
  placement: Connection["placement"] = (r) => this.call((api) => api.placement(copy(r), this.info));

  writeChunk: Connection["writeChunk"] = (header, data) =>
    this.call((api) => api.writeChunk(copy(header), Buffer.from(data), this.info));

  async *read(request: Parameters<Connection["read"]>[0]): AsyncIterable<Buffer> {
    const pieces = await this.call(async (api) => {
      const out: Buffer[] = [];
      for await (const piece of api.read(copy(request), this.info)) out.push(Buffer.from(piece));
      return out;
    });
    for (const piece of pieces) yield Buffer.from(piece);
  }

  close(): void {}
}

export class MemoryTransport implements Transport {
  constructor(readonly network: MemoryNetwork = new MemoryNetwork()) {}

  async listen(address: string, api: FileServiceApi): Promise<Listener> {
    const bound = this.network.bind(address, api);
    return {
      address: bound,
      close: async () => this.network.unbind(bound),
    };
  }

  connect(address: string, options?: ConnectOptions): Connection {
    return new MemoryConnection(this.network, address, options);
  }
}
