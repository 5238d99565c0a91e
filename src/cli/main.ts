/**
 * The `sandstore` command. Exit codes: 0 success, 1 failed operation, 2 usage error.
 */
import { Command, CommanderError } from "commander";
import { describeFailure, UsageError } from "./cli-support.ts";
import { registerFileCommands } from "./file-commands.ts";
import { registerNodeCommands } from "./node-commands.ts";

const program = new Command("sandstore")
  .description("Sandstore: a distributed file store whose topology is a variable")
  .version("0.1.0")
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(text) });

registerNodeCommands(program);
registerFileCommands(program);
for (const command of program.commands) command.exitOverride();

try {
  await program.parseAsync(process.argv);
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
  const op = program.args[0] ?? "sandstore";
  process.stderr.write(`sandstore: ${describeFailure(op, error)}\n`);
  process.exit(1);
}
