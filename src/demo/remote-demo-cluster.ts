/**
 * A running cluster a demo was pointed at (`--cluster`): it reads the members' state through
 * their AdminService with the operator's credentials, and asks the operator for the faults
 * only they can cause (stopping a process on its host, cutting a network), then watches for
 * the result.
 */
import { waitFor } from "../common/wait-for.ts";
import type { AdminClient, AdminNodeState } from "../transport/grpc-admin-service.ts";
import type { DemoCluster } from "./demo-cluster.ts";

/** How long the operator has to carry out one instruction. */
export const OPERATOR_TIMEOUT_MS = 600_000;
/** How long one member's state may take to arrive. */
const STATE_TIMEOUT_MS = 2000;

export class RemoteDemoCluster implements DemoCluster {
  readonly faultsBy = "operator";

  private constructor(
    readonly ids: readonly string[],
    private readonly admins: ReadonlyMap<string, AdminClient>,
    readonly dashboard: string | undefined,
    private readonly ask: (instruction: string) => void,
  ) {}

  /**
   * The cluster whose members `admins` reach (one per member's address, which is also its
   * client address on the file topologies). Every member must answer now, so the demo knows
   * each one's id; an Error names the addresses that did not. `ask` tells the operator what to
   * do. `dashboard` is where a member serves HTTP, if known.
   */
  static async open(
    admins: readonly AdminClient[],
    dashboard: string | undefined,
    ask: (instruction: string) => void,
  ): Promise<RemoteDemoCluster> {
    const states = await Promise.all(
      admins.map((admin) => admin.nodeState(STATE_TIMEOUT_MS).catch((error: Error) => error)),
    );
    const silent = admins.filter((_, i) => states[i] instanceof Error);
    if (silent.length > 0)
      throw new Error(
        `every member must answer before a demo starts; ${silent.map((a) => a.address).join(", ")} did not: ${String(states.find((s) => s instanceof Error))}`,
      );
    const byId = new Map<string, AdminClient>();
    states.forEach((state, i) => {
      const admin = admins[i];
      if (admin && !(state instanceof Error)) byId.set(state.id, admin);
    });
    return new RemoteDemoCluster([...byId.keys()], byId, dashboard, ask);
  }

  clientAddresses(): readonly string[] {
    return [...this.admins.values()].map((admin) => admin.address);
  }

  clientAddress(id: string): string {
    return this.admin(id).address;
  }

  async states(): Promise<ReadonlyMap<string, AdminNodeState | undefined>> {
    const entries = await Promise.all(
      this.ids.map(async (id) => {
        // A member that does not answer is what the demo shows as down: no error to pass on.
        const state = await this.admin(id)
          .nodeState(STATE_TIMEOUT_MS)
          .catch(() => undefined);
        return [id, state] as const;
      }),
    );
    return new Map(entries);
  }

  async transferLeadership(from: string, to: string): Promise<boolean> {
    return this.admin(from).transferLeadership(to);
  }

  async crash(id: string): Promise<void> {
    const address = this.admins.get(id)?.address;
    this.ask(
      `stop ${id} as a crash does: on its host, kill -9 its sandstore node${address ? ` (listening on ${address})` : ""}.`,
    );
    // A data server is not asked for its state here: the demo watches the leader's view of it.
    if (!address) return;
    await waitFor(
      async () => (await this.states()).get(id) === undefined,
      `${id} to stop answering`,
      OPERATOR_TIMEOUT_MS,
    );
  }

  async restart(id: string): Promise<void> {
    this.ask(`start ${id} again, with the command that started it before.`);
    if (!this.admins.has(id)) return;
    await waitFor(
      async () => (await this.states()).get(id) !== undefined,
      `${id} to answer again`,
      OPERATOR_TIMEOUT_MS,
    );
  }

  async isolate(id: string): Promise<void> {
    const others = this.ids.filter((other) => other !== id).map((o) => this.clientAddress(o));
    this.ask(
      `cut ${id} off from the other members (${others.join(", ")}) and leave its own port open to clients: for example, on ${id}'s host, drop its traffic to and from those addresses with nft.`,
    );
  }

  async heal(): Promise<void> {
    this.ask("undo the cut: let every member reach every other again.");
  }

  async close(): Promise<void> {
    for (const admin of this.admins.values()) admin.close();
  }

  private admin(id: string): AdminClient {
    const admin = this.admins.get(id);
    if (!admin) throw new RangeError(`the cluster has no member ${id}`);
    return admin;
  }
}
