/**
 * Kernel partitions for chaos runs (root only): each node runs in its own network namespace
 * with its own address on a bridge, and a partition is a set of nftables rules in the
 * namespaces, so the kernel drops the packets: no help from the nodes' own code, unlike the
 * fault file. The harness, on the bridge's address, always reaches every node.
 *
 * Names carry a random run id, so concurrent runs do not collide, and everything made is
 * listed so `destroy` removes it all even after a failed setup.
 */
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import type { Faults } from "../transport/fault-file.ts";

const run = promisify(execFile);

/** Longest a network command may take: they are local and quick, a hang is a broken system. */
const COMMAND_TIMEOUT_MS = 10_000;

async function ip(...args: string[]): Promise<void> {
  await run("ip", args, { timeout: COMMAND_TIMEOUT_MS });
}

/** Whether this process can make namespaces and nftables rules (root, tools installed). */
export async function kernelPartitionsAvailable(): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  const probe = `sschk${randomBytes(3).toString("hex")}`;
  try {
    await ip("netns", "add", probe);
    await run("ip", ["netns", "exec", probe, "nft", "list", "ruleset"], {
      timeout: COMMAND_TIMEOUT_MS,
    });
    return true;
  } catch {
    return false;
  } finally {
    // Only a probe that was made can be deleted; one that was not has nothing to clean.
    await ip("netns", "del", probe).catch(() => undefined);
  }
}

/** One namespace per node on a private /24, and the rules that cut them apart. */
export class NetworkNamespaces {
  private readonly runId = randomBytes(2).toString("hex");
  /** 10.a.b.0/24, drawn per run: 10.200.0.0 to 10.249.255.0. */
  private readonly subnet =
    `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 256)}`;
  private readonly bridge = `ssbr${this.runId}`;
  private readonly made: Array<() => Promise<void>> = [];

  constructor(readonly ids: readonly string[]) {
    if (ids.length > 9) throw new RangeError("at most 9 nodes in network namespaces");
  }

  /** Node `i`'s namespace. */
  namespace(i: number): string {
    return `ss${this.runId}n${i + 1}`;
  }

  /** Node `i`'s address, on which it listens and its peers reach it. */
  address(i: number): string {
    return `${this.subnet}.${11 + i}`;
  }

  /** The command prefix that runs a program in node `i`'s namespace. */
  wrap(i: number, command: readonly string[]): string[] {
    return ["ip", "netns", "exec", this.namespace(i), ...command];
  }

  /** Makes the bridge (the harness's address) and a namespace with a veth per node. */
  async create(): Promise<void> {
    await ip("link", "add", this.bridge, "type", "bridge");
    this.made.push(() => ip("link", "del", this.bridge));
    await ip("addr", "add", `${this.subnet}.1/24`, "dev", this.bridge);
    await ip("link", "set", this.bridge, "up");
    for (let i = 0; i < this.ids.length; i++) {
      const ns = this.namespace(i);
      const outside = `ssv${this.runId}${i + 1}`;
      const inside = `ssp${this.runId}${i + 1}`;
      await ip("netns", "add", ns);
      // Deleting the namespace deletes the veth pair with it.
      this.made.push(() => ip("netns", "del", ns));
      await ip("link", "add", outside, "type", "veth", "peer", "name", inside);
      await ip("link", "set", inside, "netns", ns);
      await ip("link", "set", outside, "master", this.bridge);
      await ip("link", "set", outside, "up");
      await ip("-n", ns, "addr", "add", `${this.address(i)}/24`, "dev", inside);
      await ip("-n", ns, "link", "set", inside, "up");
      await ip("-n", ns, "link", "set", "lo", "up");
    }
  }

  /**
   * Replaces node `i`'s rules with `faults`: `drop` cuts both directions, `dropFrom` what it
   * hears, `dropTo` what it sends. Ids name nodes of this cluster.
   */
  async setFaults(i: number, faults: Faults): Promise<void> {
    const addressesOf = (ids: readonly string[] | undefined) =>
      (ids ?? []).map((id) => {
        const at = this.ids.indexOf(id);
        if (at < 0) throw new RangeError(`no node ${id} in this cluster`);
        return this.address(at);
      });
    const from = [...addressesOf(faults.drop), ...addressesOf(faults.dropFrom)];
    const to = [...addressesOf(faults.drop), ...addressesOf(faults.dropTo)];
    const rules = [
      "table inet chaos {",
      "  chain input {",
      "    type filter hook input priority 0;",
      ...(from.length > 0 ? [`    ip saddr { ${from.join(", ")} } drop;`] : []),
      "  }",
      "  chain output {",
      "    type filter hook output priority 0;",
      ...(to.length > 0 ? [`    ip daddr { ${to.join(", ")} } drop;`] : []),
      "  }",
      "}",
    ];
    // One nft transaction: flush and the new table apply together, so no packet sees neither.
    const script = `flush ruleset\n${rules.join("\n")}\n`;
    await new Promise<void>((done, fail) => {
      const child = execFile(
        "ip",
        ["netns", "exec", this.namespace(i), "nft", "-f", "-"],
        { timeout: COMMAND_TIMEOUT_MS },
        (error) => (error ? fail(error) : done()),
      );
      child.stdin!.end(script);
    });
  }

  /** `destroy` for a process on its way out, where nothing asynchronous runs any more. */
  destroyNow(): void {
    for (let i = 0; i < this.ids.length; i++) {
      try {
        execFileSync("ip", ["netns", "del", this.namespace(i)], { stdio: "ignore" });
      } catch {
        // Not made yet, or already gone: the process is exiting either way.
      }
    }
    try {
      execFileSync("ip", ["link", "del", this.bridge], { stdio: "ignore" });
    } catch {
      // As above.
    }
    this.made.length = 0;
  }

  /**
   * Removes everything `create` made, newest first; safe to call more than once. Tries every
   * removal, then throws the failures together.
   */
  async destroy(): Promise<void> {
    const failures: unknown[] = [];
    while (this.made.length > 0) await this.made.pop()!().catch((error) => failures.push(error));
    if (failures.length > 0) throw new AggregateError(failures, "network namespace cleanup failed");
  }
}
