/**
 * Cluster bootstrap: until the metadata log has decided the cluster's settings, the node that
 * leads it proposes the ones its flags ask for; the first proposal to commit wins. Every node
 * then compares the decided settings with its own flags and refuses to go on when they
 * disagree, naming both values (a node with another chunk size would slice files
 * differently).
 */
import { NotLeaderError, UnavailableError } from "../common/errors.ts";
import { PeriodicTask } from "../common/periodic-task.ts";
import {
  type ClusterSettings,
  type RequestedSettings,
  SettingsConflictError,
  settingsConflicts,
  settingsFor,
} from "../metadata/cluster-settings.ts";

/** What the bootstrap needs of the control plane. */
export interface BootstrapTarget {
  /** The decided settings, or UnavailableError while there are none. */
  settings(): Promise<ClusterSettings>;
  /** Proposes settings; resolves with the decided ones. NotLeaderError off the leader. */
  bootstrap(settings: ClusterSettings): Promise<ClusterSettings>;
  isLeader(): Promise<boolean>;
}

export interface ClusterBootstrapOptions {
  readonly control: BootstrapTarget;
  /** This node's flags; fields left out agree with whatever the cluster decides. */
  readonly requested: RequestedSettings;
  /** The node's flags disagree with the decided settings: it must stop. Called once. */
  readonly onConflict: (error: SettingsConflictError) => void;
  /** Time between tries while the settings are undecided, ms. Default 100. */
  readonly intervalMs?: number;
  readonly onError?: (error: unknown) => void;
}

/**
 * Throws SettingsConflictError when settings already decided (in this node's own store, at
 * start) disagree with its flags: a restarted node refuses at once, before it serves.
 */
export function checkDecidedSettings(
  decided: ClusterSettings | undefined,
  requested: RequestedSettings,
): void {
  if (!decided) return;
  const conflicts = settingsConflicts(requested, decided);
  if (conflicts.length > 0) throw new SettingsConflictError(conflicts);
}

export class ClusterBootstrap {
  private readonly task: PeriodicTask;
  private done = false;

  constructor(private readonly o: ClusterBootstrapOptions) {
    this.task = new PeriodicTask(() => this.step(), o.intervalMs ?? 100, o.onError);
  }

  /** Tries at once, then every interval, until the settings are decided and checked. */
  start(): void {
    this.task.start();
  }

  async stop(): Promise<void> {
    await this.task.stop();
  }

  private async step(): Promise<void> {
    if (this.done) return;
    const decided = await this.decided();
    if (!decided) return;
    this.done = true;
    void this.task.stop();
    const conflicts = settingsConflicts(this.o.requested, decided);
    if (conflicts.length > 0) this.o.onConflict(new SettingsConflictError(conflicts));
  }

  /** The decided settings, proposing them first when this node leads; undefined: not yet. */
  private async decided(): Promise<ClusterSettings | undefined> {
    try {
      return await this.o.control.settings();
    } catch (error) {
      if (!(error instanceof UnavailableError || error instanceof NotLeaderError)) throw error;
    }
    if (!(await this.o.control.isLeader())) return undefined;
    try {
      return await this.o.control.bootstrap(settingsFor(this.o.requested));
    } catch (error) {
      // Leadership moved, or no quorum yet: the next step tries again.
      if (error instanceof UnavailableError || error instanceof NotLeaderError) return undefined;
      throw error;
    }
  }
}
