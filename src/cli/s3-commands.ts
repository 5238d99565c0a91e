/**
 * `sandstore s3`: the S3 gateway (docs/s3.md) as a process of its own, in front of a
 * cluster. It needs the cluster token: users' secrets, which SigV4 signs with, are derived
 * from it (`deriveUserSecret`), and it looks users up behind the trust boundary.
 */
import { type Command, Option } from "commander";
import { connect } from "../client/connect.ts";
import { deriveUserSecret, userSecretKey } from "../common/secrets.ts";
import { nodePeerAuth } from "../topologies/peer-credentials.ts";
import { RemoteControlPlane } from "../transport/grpc-metadata-service.ts";
import { hostPort, positiveInteger, UsageError } from "./cli-support.ts";

interface S3Flags {
  listen: string;
  cluster: string;
  clusterToken?: string;
  region: string;
  tlsCa?: string;
  abandonedUploadAge: number;
}

export function registerS3Commands(program: Command): void {
  program
    .command("s3")
    .description("serve the cluster's files over S3's API (buckets are top-level directories)")
    .option("--listen <host:port>", "where to serve S3", hostPort, "127.0.0.1:9000")
    .addOption(
      new Option("--cluster <addresses>", "the metadata nodes, host:port[,host:port...]")
        .env("SANDSTORE_CLUSTER")
        .default("127.0.0.1:7001"),
    )
    .addOption(
      new Option(
        "--cluster-token <secret>",
        "the cluster token: users' S3 secrets derive from it",
      ).env("SANDSTORE_CLUSTER_TOKEN"),
    )
    .option("--region <name>", "the region clients sign for", "us-east-1")
    .option(
      "--abandoned-upload-age <seconds>",
      "remove multipart uploads untouched this long",
      positiveInteger,
      7 * 24 * 3600,
    )
    .addOption(
      new Option("--tls-ca <file>", "the cluster's CA certificate, when it speaks TLS").env(
        "SANDSTORE_TLS_CA",
      ),
    )
    .action(async (flags: S3Flags) => {
      const token = flags.clusterToken;
      if (!token)
        throw new UsageError(
          "sandstore s3 needs the cluster token (--cluster-token or SANDSTORE_CLUSTER_TOKEN): users' S3 secrets derive from it",
        );
      // Loaded here: no other command needs the gateway.
      const { startS3Gateway } = await import("../gateways/s3/s3-gateway.ts");
      const seeds = flags.cluster
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      // Users are looked up over the metadata service, which answers the cluster's own
      // components only: the gateway is one, as a data server is, on the token.
      const users = new RemoteControlPlane({
        addresses: seeds,
        auth: nodePeerAuth("s3-gateway", "s3", { clusterToken: token }),
      });
      const key = userSecretKey(token);
      const gateway = await startS3Gateway({
        listen: flags.listen,
        region: flags.region,
        userByAccessKey: (accessKeyId) => users.userByAccessKey(accessKeyId),
        secretOf: (accessKeyId, salt) => deriveUserSecret(key, accessKeyId, salt),
        connect: (credentials) => connect(seeds, { credentials, tlsCa: flags.tlsCa }),
        abandonedUploadAgeMs: flags.abandonedUploadAge * 1000,
        onSweep: ({ removed, failed }) => {
          if (removed > 0 || failed > 0)
            console.error(
              `sandstore s3: removed ${removed} abandoned uploads${failed > 0 ? `, could not remove ${failed}` : ""}`,
            );
        },
      });
      console.log(`sandstore s3 serving http://${gateway.address} for ${flags.cluster}`);
      await new Promise<void>((done) => {
        process.once("SIGINT", done);
        process.once("SIGTERM", done);
      });
      await gateway.close();
      users.close();
    });
}
