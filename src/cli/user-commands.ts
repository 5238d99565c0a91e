/**
 * `sandstore user`: the cluster's users (SPEC §8), as an operator manages them. Commands talk
 * to the nodes' AdminService with the operator's credentials (the cluster token, or a TLS
 * directory such as DIR/tls/operator), like `sandstore member`. A new access key and secret
 * are printed once; `--save` also keeps them in the credentials file under the user's name,
 * for `--user NAME`.
 */
import { type Command, Option } from "commander";
import { defaultCredentialsFile, saveCredentials } from "../client/credentials-file.ts";
import type { AdminUserCredentials } from "../gen/sandstore/v1/admin.ts";
import {
  nonNegativeInteger,
  type OperatorClusterFlags,
  onLeader,
  UsageError,
  withOperatorCluster,
} from "./cli-support.ts";

interface UserFlags extends OperatorClusterFlags {
  json?: boolean;
  save?: boolean;
  credentialsFile?: string;
}

async function show(credentials: AdminUserCredentials, flags: UserFlags): Promise<void> {
  if (flags.save) {
    const file = flags.credentialsFile ?? defaultCredentialsFile();
    await saveCredentials(file, credentials.name, credentials);
    console.error(
      `saved as profile [${credentials.name}] in ${file}: use --user ${credentials.name}`,
    );
  }
  if (flags.json) {
    console.log(JSON.stringify(credentials));
    return;
  }
  console.log(`user ${credentials.name}`);
  console.log(`access_key_id = ${credentials.accessKeyId}`);
  console.log(`secret = ${credentials.secret}`);
  console.log("(the secret is shown this once: the cluster keeps only its hash)");
}

const credentialsFileOption = () =>
  new Option(
    "--credentials-file <file>",
    "where --save writes (default ~/.sandstore/credentials)",
  ).env("SANDSTORE_CREDENTIALS_FILE");

const ids = (text: string): number[] =>
  text
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const n = Number(part);
      if (!Number.isInteger(n) || n < 0 || n > 0xffff_fffe)
        throw new UsageError(`--groups: "${part}" is not a group id`);
      return n;
    });

export function registerUserCommands(program: Command): void {
  const user = program
    .command("user")
    .description("the cluster's users: add, list, remove, passwd");

  withOperatorCluster(user.command("add"))
    .argument("<name>", "a login name: lower-case letters, digits, _ and -")
    .requiredOption("--uid <uid>", "the user's id", nonNegativeInteger)
    .option("--gid <gid>", "the user's primary group (default: the uid)", nonNegativeInteger)
    .option("--groups <gids>", "supplementary groups, gid,gid,...", "")
    .option("--save", "also keep the credentials in the credentials file")
    .addOption(credentialsFileOption())
    .option("--json", "machine-readable output")
    .description("add a user with a new access key and secret")
    .action(
      async (name: string, flags: UserFlags & { uid: number; gid?: number; groups: string }) => {
        const groups = ids(flags.groups);
        const credentials = await onLeader(flags, (leader) =>
          leader.addUser({ name, uid: flags.uid, gid: flags.gid ?? flags.uid, groups }),
        );
        await show(credentials, flags);
      },
    );

  withOperatorCluster(user.command("passwd"))
    .argument("<name>", "the user")
    .option("--save", "also keep the new credentials in the credentials file")
    .addOption(credentialsFileOption())
    .option("--json", "machine-readable output")
    .description("give a user a new access key and secret; the old ones stop working")
    .action(async (name: string, flags: UserFlags) => {
      await show(await onLeader(flags, (leader) => leader.resetSecret(name)), flags);
    });

  withOperatorCluster(user.command("remove"))
    .argument("<name>", "the user")
    .description("remove a user (their files keep their uid)")
    .action(async (name: string, flags: UserFlags) => {
      await onLeader(flags, (leader) => leader.removeUser(name));
      console.log(`removed user ${name}`);
    });

  withOperatorCluster(user.command("list"))
    .option("--json", "machine-readable output")
    .description("every user: name, uid, gid, groups, access key id")
    .action(async (flags: UserFlags) => {
      const users = await onLeader(flags, (leader) => leader.listUsers());
      if (flags.json) {
        console.log(JSON.stringify(users));
        return;
      }
      console.log("NAME  UID  GID  GROUPS  ACCESS KEY");
      for (const u of users)
        console.log(
          `${u.name}  ${u.uid}  ${u.gid}  ${u.groups.join(",") || "-"}  ${u.accessKeyId}`,
        );
    });
}
