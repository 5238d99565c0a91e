/**
 * `sandstore certs`: TLS material for a cluster, as operators make it for nodes started with
 * `--tls-dir` (what `sandstore up --tls` does for a local cluster).
 */
import { resolve } from "node:path";
import type { Command } from "commander";
import { CA_FILES, makeCertificates } from "../transport/certificate-authority.ts";
import { positiveInteger, UsageError } from "./cli-support.ts";

const list = (text: string) =>
  text
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean);

export function registerCertCommands(program: Command): void {
  program
    .command("certs")
    .description(
      "make a cluster CA (or reuse DIR's) and a TLS directory per node and for the operator",
    )
    .requiredOption(
      "--dir <dir>",
      "where to write: DIR/ca.crt, DIR/ca.key, DIR/<id>/, DIR/operator/",
    )
    .requiredOption("--nodes <ids>", "node ids, id,id,... (each certificate names its node)")
    .option(
      "--hosts <names>",
      "host names and IP addresses the node certificates list",
      "127.0.0.1,localhost",
    )
    .option("--days <n>", "validity of the node and operator certificates", positiveInteger, 365)
    .action(async (flags: { dir: string; nodes: string; hosts: string; days: number }) => {
      const nodes = list(flags.nodes);
      if (nodes.length === 0) throw new UsageError("--nodes names no node");
      if (new Set(nodes).size !== nodes.length) throw new UsageError("--nodes names a node twice");
      const dir = resolve(flags.dir);
      let made: Awaited<ReturnType<typeof makeCertificates>>;
      try {
        made = await makeCertificates({ dir, nodes, hosts: list(flags.hosts), days: flags.days });
      } catch (error) {
        if (error instanceof RangeError) throw new UsageError(error.message);
        throw error;
      }
      console.log(
        made.newAuthority
          ? `made a new CA: ${resolve(dir, CA_FILES.cert)} (keep ${CA_FILES.key} secret and off the nodes)`
          : `used the CA in ${dir}`,
      );
      for (const [name, path] of made.directories) console.log(`  ${name}: --tls-dir ${path}`);
      console.log(`clients: --tls-ca ${resolve(dir, CA_FILES.cert)} (or SANDSTORE_TLS_CA)`);
    });
}
