/**
 * One real etcd for tests (`LocalEtcd`, as `sandstore up --membership etcd` runs it), on
 * ephemeral ports with a temporary data directory, removed by `stop`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePorts } from "../../src/common/free-ports.ts";
import { LocalEtcd } from "../../src/membership/local-etcd.ts";

export class EtcdServer {
  private etcd: LocalEtcd | undefined;
  private root = "";

  /** `host:port` of its client port. */
  get endpoint(): string {
    if (!this.etcd) throw new Error("etcd has not been started");
    return this.etcd.endpoint;
  }

  /** Starts it (again, on the same ports and data) and resolves once it takes a write. */
  async start(): Promise<void> {
    if (!this.etcd) {
      this.root = await mkdtemp(join(tmpdir(), "sandstore-etcd-"));
      const [clientPort = 0, peerPort = 0] = await freePorts(2);
      this.etcd = new LocalEtcd({ dataDir: join(this.root, "data"), clientPort, peerPort });
    }
    await this.etcd.start();
  }

  /** SIGKILL: no chance to answer anything more. */
  async kill(): Promise<void> {
    await this.etcd?.kill();
  }

  /** Kills it and removes its data. */
  async stop(): Promise<void> {
    await this.kill();
    if (this.root !== "") await rm(this.root, { recursive: true, force: true });
  }
}
