/**
 * `AdminService` over gRPC: a node's consensus state (with its state hash), leadership
 * transfer and membership changes, users, and draining and rebalancing data servers, served
 * beside RaftService, and a client for it. Operators and the chaos harness use it the same
 * way on every topology.
 */
import type * as grpc from "@grpc/grpc-js";
import { fsError } from "../common/errors.ts";
import { NODE_ID_PATTERN } from "../common/node-id.ts";
import {
  type AdminAddUserRequest,
  type AdminDrainStatusResponse,
  type AdminNodeStateResponse,
  type AdminRebalanceStepRequest,
  type AdminRebalanceStepResponse,
  AdminServiceClient,
  type AdminServiceServer,
  AdminServiceService,
  type AdminUser,
  type AdminUserCredentials,
} from "../gen/sandstore/v1/admin.ts";
import { errorToStatus, RECONNECT_OPTIONS, statusToError } from "./grpc-transport.ts";
import { admitPeer } from "./peer-admission.ts";
import { type IncomingCall, NODES_AND_OPERATORS, type PeerAuth } from "./peer-auth.ts";

export type {
  AdminAddUserRequest,
  AdminDrainStatusResponse,
  AdminNodeStateResponse as AdminNodeState,
  AdminRebalanceStepRequest,
  AdminRebalanceStepResponse,
  AdminUser,
  AdminUserCredentials,
};

/** The steps of a membership change, as the wire names them. */
export const MEMBERSHIP_CHANGES = ["add-learner", "promote", "remove"] as const;
export type MembershipChangeKind = (typeof MEMBERSHIP_CHANGES)[number];

/** One step of a membership change to the Raft group. */
export interface MembershipChange {
  readonly change: MembershipChangeKind;
  readonly nodeId: string;
  /** Where a node that is not a configured peer listens, `host:port`, for `add-learner`. */
  readonly address?: string;
}

/** Deadline of one admin call. */
const CALL_TIMEOUT_MS = 5000;

/** What a node answers with. */
export interface AdminHandlers {
  /**
   * This node's state now; the hash is of the state machine at `appliedIndex`. The trust
   * boundary's counters are filled in by the service.
   */
  state(): Omit<AdminNodeStateResponse, "refusedCallsTotal" | "forgedMessagesTotal">;
  /** Starts handing leadership to `to`; false when this node cannot. */
  transferLeadership(to: string): boolean;
  /**
   * Proposes `change` and resolves once it is applied here. Rejects with NotLeaderError or a
   * SandstoreError (EINVAL, EAGAIN, ETIMEDOUT); `change.change` is already validated.
   */
  changeMembership(change: MembershipChange): Promise<void>;
  /** The metadata's users, on topologies that have them (absent: ENOTSUP). */
  users?: UserAdmin;
  /** Draining and rebalancing, on topologies with replicated data servers (absent: ENOTSUP). */
  dataServers?: DataServerAdmin;
}

/**
 * Draining and rebalancing data servers, as the metadata leader does them. Requests come
 * validated: a well-formed node id, positive byte counts, a tolerance of 1 to 100 percent.
 */
export interface DataServerAdmin {
  /**
   * Marks `nodeId` draining (or not) through the metadata log; resolves once committed.
   * Rejects NotLeaderError, or EINVAL when marking a node that is no data server.
   */
  drain(nodeId: string, draining: boolean): Promise<void>;
  /** What the last complete repair pass found of each draining server. */
  drainStatus(): Promise<AdminDrainStatusResponse>;
  /** One paced rebalancing step. Rejects EAGAIN when this node stops leading meanwhile. */
  rebalanceStep(request: AdminRebalanceStepRequest): Promise<AdminRebalanceStepResponse>;
}

/** Tolerance of a rebalance step that names none, percent of the mean. */
export const DEFAULT_REBALANCE_TOLERANCE_PERCENT = 10;
/**
 * Deadline of a rebalance step. `sandstore rebalance`'s defaults, 256 MiB at 32 MiB/s, take
 * 8 s; a `--step-mib` much larger than 120 times `--rate-mib` runs into it.
 */
export const REBALANCE_STEP_TIMEOUT_MS = 120_000;

/** User management, as the metadata service does it (see `ControlPlane`). */
export interface UserAdmin {
  add(user: AdminAddUserRequest): Promise<AdminUserCredentials>;
  resetSecret(name: string): Promise<AdminUserCredentials>;
  remove(name: string): Promise<void>;
  list(): Promise<AdminUser[]>;
}

/**
 * Registers `AdminService` on `server`; nodes and operators of the cluster may call it, and
 * `auth`'s counters are part of the state it reports.
 */
export function addAdminService(
  server: grpc.Server,
  handlers: AdminHandlers,
  auth: PeerAuth,
): void {
  /** The refusal of a call without credentials, or undefined when it may proceed. */
  const refusal = (call: IncomingCall) => {
    const admission = admitPeer(auth, call, NODES_AND_OPERATORS, "admin service");
    return admission.admitted ? undefined : admission.status;
  };
  /**
   * Runs a call for a caller past the boundary on a part of the handlers the topology may
   * lack (`missing` says so: ENOTSUP).
   */
  const partCall = <Part, Res>(
    call: IncomingCall,
    callback: grpc.sendUnaryData<Res>,
    part: Part | undefined,
    missing: string,
    run: (part: Part) => Promise<Res>,
  ): void => {
    const refused = refusal(call);
    if (refused) callback(refused);
    else if (!part) callback(errorToStatus(fsError("ENOTSUP", "", missing)));
    else
      run(part).then(
        (response) => callback(null, response),
        (error: unknown) => callback(errorToStatus(error)),
      );
  };
  const userCall = <Res>(
    call: IncomingCall,
    callback: grpc.sendUnaryData<Res>,
    run: (users: UserAdmin) => Promise<Res>,
  ) => partCall(call, callback, handlers.users, "this topology has no users", run);
  const dataServerCall = <Res>(
    call: IncomingCall,
    callback: grpc.sendUnaryData<Res>,
    run: (dataServers: DataServerAdmin) => Promise<Res>,
  ) =>
    partCall(
      call,
      callback,
      handlers.dataServers,
      "this topology has no replicated data servers to drain or rebalance",
      run,
    );
  const implementation: AdminServiceServer = {
    nodeState: (call, callback) => {
      const refused = refusal(call);
      if (refused) return callback(refused);
      callback(null, {
        ...handlers.state(),
        refusedCallsTotal: auth.counters.refusedCallsTotal,
        forgedMessagesTotal: auth.counters.forgedMessagesTotal,
      });
    },
    transferLeadership: (call, callback) => {
      const refused = refusal(call);
      if (refused) return callback(refused);
      callback(null, { started: handlers.transferLeadership(call.request.to) });
    },
    changeMembership: (call, callback) => {
      const refused = refusal(call);
      if (refused) return callback(refused);
      const { change, nodeId, address } = call.request;
      if (!(MEMBERSHIP_CHANGES as readonly string[]).includes(change)) {
        const choices = MEMBERSHIP_CHANGES.join(", ");
        return callback(
          errorToStatus(fsError("EINVAL", "", `unknown membership change "${change}": ${choices}`)),
        );
      }
      const request = {
        change: change as MembershipChangeKind,
        nodeId,
        ...(address ? { address } : {}),
      };
      handlers.changeMembership(request).then(
        () => callback(null, {}),
        (error: unknown) => callback(errorToStatus(error)),
      );
    },
    addUser: (call, callback) => userCall(call, callback, (users) => users.add(call.request)),
    resetSecret: (call, callback) =>
      userCall(call, callback, (users) => users.resetSecret(call.request.name)),
    removeUser: (call, callback) =>
      userCall(call, callback, async (users) => {
        await users.remove(call.request.name);
        return {};
      }),
    listUsers: (call, callback) =>
      userCall(call, callback, async (users) => ({ users: await users.list() })),
    drain: (call, callback) =>
      dataServerCall(call, callback, async (dataServers) => {
        const { nodeId, draining } = call.request;
        if (!NODE_ID_PATTERN.test(nodeId))
          throw fsError("EINVAL", "", `"${nodeId}" is not a node id (${NODE_ID_PATTERN})`);
        await dataServers.drain(nodeId, draining);
        return {};
      }),
    drainStatus: (call, callback) =>
      dataServerCall(call, callback, (dataServers) => dataServers.drainStatus()),
    rebalanceStep: (call, callback) =>
      dataServerCall(call, callback, async (dataServers) => {
        const { maxBytes, bytesPerSecond, tolerancePercent } = call.request;
        if (maxBytes <= 0 || bytesPerSecond <= 0)
          throw fsError("EINVAL", "", "a rebalance step needs max bytes and a pace above 0");
        if (tolerancePercent > 100)
          throw fsError("EINVAL", "", `tolerance ${tolerancePercent}% is above 100%`);
        return dataServers.rebalanceStep({
          maxBytes,
          bytesPerSecond,
          tolerancePercent: tolerancePercent || DEFAULT_REBALANCE_TOLERANCE_PERCENT,
        });
      }),
  };
  server.addService(AdminServiceService, implementation);
}

/** A connection to one node's `AdminService`. */
export class AdminClient {
  private readonly client: InstanceType<typeof AdminServiceClient>;

  /** `address`: the node's internal (Raft) address; `auth`: the caller's credentials. */
  constructor(
    readonly address: string,
    private readonly auth: PeerAuth,
  ) {
    const channel = auth.channel();
    this.client = new AdminServiceClient(address, channel.credentials, {
      ...RECONNECT_OPTIONS,
      ...channel.options,
    });
  }

  private metadata(): grpc.Metadata {
    return this.auth.callMetadata();
  }

  /** The node's state; fails EAGAIN or ETIMEDOUT when the node cannot be reached. */
  nodeState(timeoutMs = CALL_TIMEOUT_MS): Promise<AdminNodeStateResponse> {
    return new Promise((resolve, reject) =>
      this.client.nodeState(
        {},
        this.metadata(),
        { deadline: Date.now() + timeoutMs },
        (error, response) =>
          error ? reject(statusToError(error, this.address)) : resolve(response),
      ),
    );
  }

  /** Asks the node to hand leadership to `to`; false when it does not lead. */
  transferLeadership(to: string): Promise<boolean> {
    return new Promise((resolve, reject) =>
      this.client.transferLeadership(
        { to },
        this.metadata(),
        { deadline: Date.now() + CALL_TIMEOUT_MS },
        (error, response) =>
          error ? reject(statusToError(error, this.address)) : resolve(response.started),
      ),
    );
  }

  /** Asks the node, which must lead, for one membership step; resolves once it is applied. */
  changeMembership(change: MembershipChange, timeoutMs = CALL_TIMEOUT_MS * 3): Promise<void> {
    return new Promise((resolve, reject) =>
      this.client.changeMembership(
        { ...change, address: change.address ?? "" },
        this.metadata(),
        { deadline: Date.now() + timeoutMs },
        (error) => (error ? reject(statusToError(error, this.address)) : resolve()),
      ),
    );
  }

  /** Asks the node, which must lead, to add a user; resolves with its new credentials. */
  addUser(user: AdminAddUserRequest): Promise<AdminUserCredentials> {
    return this.unary((metadata, options, done) =>
      this.client.addUser(user, metadata, options, done),
    );
  }

  /** Asks the node, which must lead, for a user's new access key and secret. */
  resetSecret(name: string): Promise<AdminUserCredentials> {
    return this.unary((metadata, options, done) =>
      this.client.resetSecret({ name }, metadata, options, done),
    );
  }

  async removeUser(name: string): Promise<void> {
    await this.unary((metadata, options, done) =>
      this.client.removeUser({ name }, metadata, options, done),
    );
  }

  async listUsers(): Promise<AdminUser[]> {
    const reply = await this.unary<{ users: AdminUser[] }>((metadata, options, done) =>
      this.client.listUsers({}, metadata, options, done),
    );
    return reply.users;
  }

  /** Asks the node, which must lead, to mark data server `nodeId` draining, or not. */
  async drain(nodeId: string, draining: boolean): Promise<void> {
    await this.unary((metadata, options, done) =>
      this.client.drain({ nodeId, draining }, metadata, options, done),
    );
  }

  /** The node's (the leader's) repair findings of each draining server. */
  drainStatus(): Promise<AdminDrainStatusResponse> {
    return this.unary((metadata, options, done) =>
      this.client.drainStatus({}, metadata, options, done),
    );
  }

  /** One rebalancing step on the node, which must lead; its deadline is the step's. */
  rebalanceStep(request: AdminRebalanceStepRequest): Promise<AdminRebalanceStepResponse> {
    return this.unary(
      (metadata, options, done) => this.client.rebalanceStep(request, metadata, options, done),
      REBALANCE_STEP_TIMEOUT_MS,
    );
  }

  /** One unary call with this client's credentials and deadline, errors typed. */
  private unary<Res>(
    start: (
      metadata: grpc.Metadata,
      options: Partial<grpc.CallOptions>,
      done: (error: grpc.ServiceError | null, response: Res) => void,
    ) => void,
    timeoutMs = CALL_TIMEOUT_MS * 3,
  ): Promise<Res> {
    return new Promise((resolve, reject) =>
      start(this.metadata(), { deadline: Date.now() + timeoutMs }, (error, response) =>
        error ? reject(statusToError(error, this.address)) : resolve(response),
      ),
    );
  }

  close(): void {
    this.client.close();
  }
}
