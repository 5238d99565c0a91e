/**
 * The `sandstore` command. Exit codes: 0 success, 1 failed operation, 2 usage error.
 */
import { Command, CommanderError } from "commander";
import { registerBenchCommands } from "./bench-commands.ts";
import { registerCertCommands } from "./cert-commands.ts";
import { registerChaosCommands } from "./chaos-commands.ts";
import { describeFailure, UsageError } from "./cli-support.ts";
import { registerDataServerCommands } from "./data-server-commands.ts";
import { registerDemoCommands } from "./demo-commands.ts";
import { registerFileCommands } from "./file-commands.ts";
import { normalizeTitanStoreFlags, registerKvCommands } from "./kv-commands.ts";
import { registerMcpCommands } from "./mcp-commands.ts";
import { registerMemberCommands } from "./member-commands.ts";
import { registerMountCommands } from "./mount-commands.ts";
import { registerNodeCommands } from "./node-commands.ts";
import { registerS3Commands } from "./s3-commands.ts";
import { registerUserCommands } from "./user-commands.ts";

// `sandstore ls | head` closes the pipe early: that is the reader's choice, not a failure.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

const program = new Command("sandstore")
  .description("Sandstore: a distributed file store whose topology is a variable")
  .version("0.1.0")
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(text) });

registerNodeCommands(program);
registerFileCommands(program);
registerKvCommands(program);
registerBenchCommands(program);
registerChaosCommands(program);
registerMemberCommands(program);
registerDataServerCommands(program);
registerCertCommands(program);
registerUserCommands(program);
registerDemoCommands(program);
registerMountCommands(program);
registerMcpCommands(program);
registerS3Commands(program);
const exitOverrideAll = (command: Command): void => {
  command.exitOverride();
  for (const child of command.commands) exitOverrideAll(child);
};
exitOverrideAll(program);

try {
  await program.parseAsync(normalizeTitanStoreFlags(process.argv));
} catch (error) {
  if (error instanceof CommanderError) {
    const done =
      error.code === "commander.helpDisplayed" ||
      error.code === "commander.version" ||
      error.code === "commander.help";
    process.exit(done ? 0 : 2);
  }
  if (error instanceof UsageError) {
    process.stderr.write(`sandstore: ${error.message}\n`);
    process.exit(2);
  }
  const op =
    program.args[0] === "kv"
      ? `kv ${program.args[1] ?? ""}`.trim()
      : (program.args[0] ?? "sandstore");
  process.stderr.write(`sandstore: ${describeFailure(op, error)}\n`);
  process.exit(1);
}
