/**
 * `sandstore member`: the Raft group's membership, as an operator changes it (etcdctl member
 * does the same for etcd). Commands talk to the members' AdminService on their internal
 * addresses: the node's one port on the hyperconverged topology, the Raft port on kv.
 *
 * Replacing a node whose log is damaged: `member remove nX`, wipe its data directory's raft/
 * and state (metadata/ or kv/), start it, then `member add nX`.
 */
import type { Command } from "commander";
import { isHostPort } from "../common/host-port.ts";
import { addVoter, changeMembership, leaderAmong } from "../transport/admin-membership.ts";
import type { AdminClient } from "../transport/grpc-admin-service.ts";
import {
  type CredentialFlags,
  operatorClients,
  positiveInteger,
  UsageError,
  withCredentials,
} from "./cli-support.ts";

interface MemberFlags extends CredentialFlags {
  nodes: string;
  timeout: number;
}

function withMembers(command: Command): Command {
  return withCredentials(
    command.requiredOption("--nodes <addresses>", "every member's internal address, host:port,..."),
    "an operator's: the token, or a TLS directory such as DIR/tls/operator",
  ).option("--timeout <seconds>", "give up after this long", positiveInteger, 60);
}

/** Admin clients of `--nodes`, closed after `fn`. */
async function withAdmins<T>(
  flags: MemberFlags,
  fn: (clients: AdminClient[]) => Promise<T>,
): Promise<T> {
  const clients = operatorClients(flags.nodes, "--nodes", flags);
  try {
    return await fn(clients);
  } finally {
    for (const client of clients) client.close();
  }
}

export function registerMemberCommands(program: Command): void {
  const member = program
    .command("member")
    .description("list, add and remove members of the Raft group");

  withMembers(member.command("list"))
    .description("each member's role and the group's voters and learners")
    .action(async (flags: MemberFlags) => {
      await withAdmins(flags, async (clients) => {
        const states = await Promise.all(
          clients.map((client) => client.nodeState().catch((error: Error) => error)),
        );
        // No member answering is a failed operation, with the first reason (a refusal names it).
        if (states.every((state) => state instanceof Error)) throw states[0];
        console.log("ID  ADDRESS  ROLE  TERM  APPLIED");
        states.forEach((state, i) => {
          const address = clients[i]!.address;
          if (state instanceof Error) console.log(`?  ${address}  no answer: ${state.message}`);
          else
            console.log(
              `${state.id}  ${address}  ${state.role}  ${state.term}  ${state.appliedIndex}`,
            );
        });
        const leader = states.find((s) => !(s instanceof Error) && s.role === "leader");
        if (leader && !(leader instanceof Error))
          console.log(
            `voters: ${leader.voters.join(" ")}; learners: ${leader.learners.join(" ") || "none"}`,
          );
        else console.log("no member says it leads: the group's configuration is unknown");
      });
    });

  withMembers(member.command("remove"))
    .argument("<id>", "the member to remove")
    .description("remove a member from the Raft group")
    .action(async (id: string, flags: MemberFlags) => {
      await withAdmins(flags, (clients) =>
        changeMembership(leaderAmong(clients), "remove", id, flags.timeout * 1000),
      );
      console.log(`removed ${id}`);
    });

  withMembers(member.command("add"))
    .argument("<id>", "the member to add (its node must be running; a new one with --join)")
    .option(
      "--address <host:port>",
      "where a node that is not in the members' --peers listens (file topologies; on etcd membership its registration says)",
    )
    .description("add a member as a learner and promote it to voter once it has caught up")
    .action(async (id: string, flags: MemberFlags & { address?: string }) => {
      if (flags.address !== undefined && !isHostPort(flags.address))
        throw new UsageError(`--address "${flags.address}" is not host:port`);
      await withAdmins(flags, (clients) =>
        addVoter(leaderAmong(clients), id, flags.timeout * 1000, flags.address),
      );
      console.log(`added ${id} as a voter`);
    });
}
