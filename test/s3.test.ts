/**
 * The S3 gateway (issue 19, first step) with a real S3 client, Debian's awscli: buckets,
 * objects with metadata, listings with prefix and delimiter, ranged and conditional gets, a
 * presigned URL, permissions, and refusals of a wrong secret, as S3 names them. What the
 * gateway writes is a file, which the SDK reads back.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { NODE_RUNTIME_FLAGS } from "../src/common/runtime-flags.ts";
import { connect } from "../src/index.ts";
import type { ClientCredentials } from "../src/transport/file-service-api.ts";
import { Cluster, readFile as readFromStore } from "./helpers/hyperconverged-cluster.ts";
import { CLI, runCli } from "./helpers/node-process.ts";

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

describe("the S3 gateway with awscli", () => {
  const cluster = new Cluster({ size: 1, nodeArgs: ["--auth", "required"] });
  let gateway: ChildProcess;
  let endpoint = "";
  let root: ClientCredentials;
  let alice: ClientCredentials;

  const addUser = async (name: string, uid: number): Promise<ClientCredentials> => {
    const run = await runCli(["user", "add", name, "--uid", String(uid), "--json"], {
      SANDSTORE_CLUSTER: cluster.addresses.join(","),
      SANDSTORE_CLUSTER_TOKEN: cluster.token,
    });
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout.toString()) as ClientCredentials;
  };

  /** `aws ARGS` against the gateway as `who`. */
  const aws = (who: ClientCredentials, ...args: string[]): Promise<Run> =>
    new Promise((done) => {
      execFile(
        "aws",
        [...args, "--endpoint-url", endpoint],
        {
          timeout: 120_000,
          env: {
            PATH: process.env.PATH,
            HOME: cluster.root,
            AWS_ACCESS_KEY_ID: who.accessKeyId,
            AWS_SECRET_ACCESS_KEY: who.secret,
            AWS_DEFAULT_REGION: "us-east-1",
            AWS_EC2_METADATA_DISABLED: "true",
            AWS_PAGER: "",
            // awscli 2.9 presigns with Signature V2 unless told: the gateway speaks V4 only.
            AWS_CONFIG_FILE: join(cluster.root, "aws-config"),
          },
        },
        (error, stdout, stderr) =>
          done({
            code: error ? (typeof error.code === "number" ? error.code : 1) : 0,
            stdout: String(stdout),
            stderr: String(stderr),
          }),
      );
    });
  const ok = async (who: ClientCredentials, ...args: string[]) => {
    const run = await aws(who, ...args);
    assert.equal(run.code, 0, `aws ${args.join(" ")}: ${run.stderr}`);
    // `aws s3` prints progress lines; `aws s3api` prints the response as JSON.
    return args[0] !== "s3api" || run.stdout.trim() === "" ? {} : JSON.parse(run.stdout);
  };
  const refused = async (code: string, who: ClientCredentials, ...args: string[]) => {
    const run = await aws(who, ...args);
    assert.notEqual(run.code, 0, `aws ${args.join(" ")} is refused`);
    assert.match(run.stderr, new RegExp(code), `aws ${args.join(" ")}`);
  };

  before(async () => {
    await cluster.start();
    await cluster.leader();
    await writeFile(
      join(cluster.root, "aws-config"),
      "[default]\ns3 =\n  signature_version = s3v4\n",
    );
    root = await addUser("s3root", 0);
    alice = await addUser("alice", 1000);
    gateway = spawn(
      process.execPath,
      [
        ...NODE_RUNTIME_FLAGS,
        CLI,
        "s3",
        ...["--listen", "127.0.0.1:0", "--cluster", cluster.addresses.join(",")],
        ...["--cluster-token", cluster.token],
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const stdout = gateway.stdout;
    assert.ok(stdout);
    endpoint = await new Promise<string>((done, fail) => {
      gateway.once("exit", (code) => fail(new Error(`sandstore s3 exited ${code}`)));
      createInterface({ input: stdout }).on("line", (line) => {
        const match = /serving (http:\/\/\S+)/.exec(line);
        if (match?.[1]) done(match[1]);
      });
    });
  });
  after(async () => {
    if (gateway.exitCode === null) {
      const exited = new Promise((done) => gateway.once("exit", done));
      gateway.kill("SIGTERM");
      await exited;
    }
    await cluster.close();
  });

  test("buckets and objects round-trip through aws s3api and aws s3; the files are the objects", async () => {
    await ok(root, "s3api", "create-bucket", "--bucket", "photos");
    await refused("BucketAlreadyOwnedByYou", root, "s3api", "create-bucket", "--bucket", "photos");
    const buckets = await ok(root, "s3api", "list-buckets");
    assert.deepEqual(
      buckets.Buckets.map((b: { Name: string }) => b.Name),
      ["photos"],
    );
    await ok(root, "s3api", "head-bucket", "--bucket", "photos");

    const data = randomBytes(300 * 1024 + 7);
    const local = join(cluster.root, "a.bin");
    await writeFile(local, data);
    const md5 = createHash("md5").update(data).digest("hex");
    const put = await ok(
      root,
      ...["s3api", "put-object", "--bucket", "photos", "--key", "2026/12/a.bin"],
      ...["--body", local, "--content-type", "image/x-test", "--metadata", "color=blue"],
    );
    assert.equal(put.ETag, `"${md5}"`);
    for (const key of ["2026/b.txt", "2026/12/c.txt", "2027.txt", "readme"])
      await ok(root, "s3api", "put-object", "--bucket", "photos", "--key", key, "--body", local);

    const head = await ok(
      root,
      "s3api",
      "head-object",
      "--bucket",
      "photos",
      "--key",
      "2026/12/a.bin",
    );
    assert.deepEqual(
      [head.ETag, head.ContentLength, head.ContentType, head.Metadata],
      [`"${md5}"`, data.length, "image/x-test", { color: "blue" }],
    );

    const listed = await ok(
      root,
      ...[
        "s3api",
        "list-objects-v2",
        "--bucket",
        "photos",
        "--prefix",
        "2026/",
        "--delimiter",
        "/",
      ],
    );
    assert.deepEqual(
      (listed.Contents ?? []).map((c: { Key: string }) => c.Key),
      ["2026/b.txt"],
    );
    assert.deepEqual(
      listed.CommonPrefixes.map((p: { Prefix: string }) => p.Prefix),
      ["2026/12/"],
    );
    const all = await ok(root, "s3api", "list-objects-v2", "--bucket", "photos");
    assert.deepEqual(
      all.Contents.map((c: { Key: string }) => c.Key),
      ["2026/12/a.bin", "2026/12/c.txt", "2026/b.txt", "2027.txt", "readme"],
      "S3 order: '/' sorts after '.'",
    );
    const paged = await ok(
      root,
      ...["s3api", "list-objects-v2", "--bucket", "photos", "--max-keys", "2", "--no-paginate"],
    );
    assert.equal(paged.Contents.length, 2);
    assert.equal(paged.IsTruncated, true);
    const rest = await ok(
      root,
      ...["s3api", "list-objects-v2", "--bucket", "photos", "--no-paginate"],
      ...["--continuation-token", paged.NextContinuationToken],
    );
    assert.deepEqual(
      rest.Contents.map((c: { Key: string }) => c.Key),
      ["2026/b.txt", "2027.txt", "readme"],
    );
    const v1 = await ok(
      root,
      "s3api",
      "list-objects",
      "--bucket",
      "photos",
      "--marker",
      "2027.txt",
    );
    assert.deepEqual(
      v1.Contents.map((c: { Key: string }) => c.Key),
      ["readme"],
    );

    const out = join(cluster.root, "out.bin");
    await ok(root, "s3api", "get-object", "--bucket", "photos", "--key", "2026/12/a.bin", out);
    assert.deepEqual(await readFile(out), data);
    const ranged = await ok(
      root,
      ...["s3api", "get-object", "--bucket", "photos", "--key", "2026/12/a.bin"],
      ...["--range", "bytes=100-199", out],
    );
    assert.equal(ranged.ContentRange, `bytes 100-199/${data.length}`);
    assert.deepEqual(await readFile(out), data.subarray(100, 200));
    await refused(
      "InvalidRange",
      root,
      ...["s3api", "get-object", "--bucket", "photos", "--key", "readme"],
      ...["--range", `bytes=${data.length}-`, out],
    );
    await refused(
      "(304|Not Modified)",
      root,
      ...["s3api", "get-object", "--bucket", "photos", "--key", "readme"],
      ...["--if-none-match", `"${md5}"`, out],
    );
    await refused(
      "(412|PreconditionFailed|Precondition Failed)",
      root,
      ...["s3api", "get-object", "--bucket", "photos", "--key", "readme"],
      ...["--if-match", '"0000"', out],
    );
    await refused(
      "NoSuchKey",
      root,
      "s3api",
      "get-object",
      "--bucket",
      "photos",
      "--key",
      "nope",
      out,
    );
    await refused("NoSuchBucket", root, "s3api", "list-objects-v2", "--bucket", "nobucket");

    // aws s3: cp up and down, ls, presign.
    await ok(root, "s3", "cp", local, "s3://photos/copied/by-cp.bin");
    const ls = await aws(root, "s3", "ls", "s3://photos/copied/");
    assert.match(ls.stdout, /by-cp\.bin/);
    await ok(root, "s3", "cp", "s3://photos/copied/by-cp.bin", out);
    assert.deepEqual(await readFile(out), data);
    const presigned = (await aws(root, "s3", "presign", "s3://photos/readme")).stdout.trim();
    const fetched = await fetch(presigned);
    assert.equal(fetched.status, 200);
    assert.deepEqual(Buffer.from(await fetched.arrayBuffer()), data);
    const tampered = await fetch(presigned.replace("readme", "2027.txt"));
    assert.equal(tampered.status, 403);
    assert.match(await tampered.text(), /SignatureDoesNotMatch/);

    // The objects are files.
    const sdk = connect(cluster.addresses, { credentials: root });
    try {
      assert.deepEqual(await readFromStore(sdk, "/photos/2026/12/a.bin"), data);
      assert.deepEqual(
        (await sdk.readdir("/photos")).map((e) => e.name),
        ["2026", "2027.txt", "copied", "readme"],
        "no staged upload left behind",
      );
    } finally {
      await sdk.closeClient();
    }

    await refused("BucketNotEmpty", root, "s3api", "delete-bucket", "--bucket", "photos");
    await ok(root, "s3", "rm", "--recursive", "s3://photos/");
    await ok(root, "s3api", "delete-object", "--bucket", "photos", "--key", "never-there");
    await ok(root, "s3api", "delete-bucket", "--bucket", "photos");
  });

  test("a wrong secret, an unknown key and a user without permission are refused", async () => {
    await refused(
      "SignatureDoesNotMatch",
      { ...root, secret: `${root.secret}x` },
      "s3api",
      "list-buckets",
    );
    await refused(
      "InvalidAccessKeyId",
      { accessKeyId: "SKNOSUCHKEY", secret: "x" },
      "s3api",
      "list-buckets",
    );
    await refused("AccessDenied", alice, "s3api", "create-bucket", "--bucket", "alices");
    await ok(root, "s3api", "create-bucket", "--bucket", "shared");
    await refused(
      "AccessDenied",
      alice,
      ...["s3api", "put-object", "--bucket", "shared", "--key", "x", "--body", "/etc/hostname"],
    );
    await ok(root, "s3api", "delete-bucket", "--bucket", "shared");
    await refused("NotImplemented", root, ...["s3api", "get-bucket-versioning", "--bucket", "any"]);
  });

  test("multipart uploads: aws s3 cp of 100 MiB, and each step by s3api with S3's checks", async () => {
    await ok(root, "s3api", "create-bucket", "--bucket", "big");
    const large = randomBytes(100 * 1024 * 1024);
    const local = join(cluster.root, "large.bin");
    await writeFile(local, large);
    await ok(root, "s3", "cp", local, "s3://big/dir/large.bin");
    const head = await ok(
      root,
      "s3api",
      "head-object",
      "--bucket",
      "big",
      "--key",
      "dir/large.bin",
    );
    assert.match(head.ETag, /^"[0-9a-f]{32}-13"$/, "awscli's 8 MiB parts: md5-of-md5s-13");
    const out = join(cluster.root, "large.out");
    await ok(root, "s3", "cp", "s3://big/dir/large.bin", out);
    assert.ok((await readFile(out)).equals(large), "the 100 MiB object reads back whole");

    const begun = await ok(
      root,
      "s3api",
      "create-multipart-upload",
      "--bucket",
      "big",
      "--key",
      "parts/obj",
      "--content-type",
      "text/x-parts",
    );
    const uploadId: string = begun.UploadId;
    const first = large.subarray(0, 5 * 1024 * 1024);
    const second = large.subarray(5 * 1024 * 1024, 5 * 1024 * 1024 + 1000);
    await writeFile(join(cluster.root, "p1"), first);
    await writeFile(join(cluster.root, "p2"), second);
    const part = (n: number, file: string) =>
      ok(
        root,
        "s3api",
        "upload-part",
        "--bucket",
        "big",
        "--key",
        "parts/obj",
        "--upload-id",
        uploadId,
        "--part-number",
        String(n),
        "--body",
        join(cluster.root, file),
      );
    const e2 = (await part(2, "p2")).ETag;
    const e1 = (await part(1, "p1")).ETag;
    const uploads = await ok(root, "s3api", "list-multipart-uploads", "--bucket", "big");
    assert.deepEqual(
      uploads.Uploads.map((u: { Key: string; UploadId: string }) => [u.Key, u.UploadId]),
      [["parts/obj", uploadId]],
    );
    const parts = await ok(
      root,
      "s3api",
      "list-parts",
      "--bucket",
      "big",
      "--key",
      "parts/obj",
      "--upload-id",
      uploadId,
    );
    assert.deepEqual(
      parts.Parts.map((p: { PartNumber: number; Size: number }) => [p.PartNumber, p.Size]),
      [
        [1, first.length],
        [2, 1000],
      ],
    );
    const complete = (parts: Array<[number, string]>) =>
      aws(
        root,
        "s3api",
        "complete-multipart-upload",
        "--bucket",
        "big",
        "--key",
        "parts/obj",
        "--upload-id",
        uploadId,
        "--multipart-upload",
        JSON.stringify({ Parts: parts.map(([PartNumber, ETag]) => ({ PartNumber, ETag })) }),
      );
    assert.match(
      (
        await complete([
          [1, '"00000000000000000000000000000000"'],
          [2, e2],
        ])
      ).stderr,
      /InvalidPart/,
    );
    assert.match(
      (
        await complete([
          [2, e2],
          [1, e1],
        ])
      ).stderr,
      /InvalidPartOrder/,
    );
    const done = JSON.parse(
      (
        await complete([
          [1, e1],
          [2, e2],
        ])
      ).stdout,
    );
    const md5s = createHash("md5")
      .update(Buffer.from(JSON.parse(e1), "hex"))
      .update(Buffer.from(JSON.parse(e2), "hex"))
      .digest("hex");
    assert.equal(done.ETag, `"${md5s}-2"`);
    const got = join(cluster.root, "parts.out");
    const fetched = await ok(
      root,
      "s3api",
      "get-object",
      "--bucket",
      "big",
      "--key",
      "parts/obj",
      got,
    );
    assert.equal(fetched.ContentType, "text/x-parts");
    assert.ok((await readFile(got)).equals(Buffer.concat([first, second])));
    await refused(
      "NoSuchUpload",
      root,
      "s3api",
      "list-parts",
      "--bucket",
      "big",
      "--key",
      "parts/obj",
      "--upload-id",
      uploadId,
    );

    // A small part before the last, an abort, and a part copied from an object.
    const small = (
      await ok(root, "s3api", "create-multipart-upload", "--bucket", "big", "--key", "small")
    ).UploadId;
    const tiny = await ok(
      root,
      "s3api",
      "upload-part",
      "--bucket",
      "big",
      "--key",
      "small",
      "--upload-id",
      small,
      "--part-number",
      "1",
      "--body",
      join(cluster.root, "p2"),
    );
    const copied = await ok(
      root,
      "s3api",
      "upload-part-copy",
      "--bucket",
      "big",
      "--key",
      "small",
      "--upload-id",
      small,
      "--part-number",
      "2",
      "--copy-source",
      "big/dir/large.bin",
      "--copy-source-range",
      "bytes=0-999",
    );
    assert.equal(
      copied.CopyPartResult.ETag,
      e2.replace(/.*/, `"${createHash("md5").update(large.subarray(0, 1000)).digest("hex")}"`),
    );
    const tooSmall = await aws(
      root,
      "s3api",
      "complete-multipart-upload",
      "--bucket",
      "big",
      "--key",
      "small",
      "--upload-id",
      small,
      "--multipart-upload",
      JSON.stringify({
        Parts: [
          { PartNumber: 1, ETag: tiny.ETag },
          { PartNumber: 2, ETag: copied.CopyPartResult.ETag },
        ],
      }),
    );
    assert.match(tooSmall.stderr, /EntityTooSmall/);
    await ok(
      root,
      "s3api",
      "abort-multipart-upload",
      "--bucket",
      "big",
      "--key",
      "small",
      "--upload-id",
      small,
    );
    assert.deepEqual(
      (await ok(root, "s3api", "list-multipart-uploads", "--bucket", "big")).Uploads ?? [],
      [],
    );

    // Copies within and across buckets, keeping or replacing metadata; DeleteObjects.
    await ok(root, "s3api", "create-bucket", "--bucket", "other");
    await ok(root, "s3", "cp", "s3://big/parts/obj", "s3://other/copy-of-obj");
    const copy = await ok(
      root,
      "s3api",
      "head-object",
      "--bucket",
      "other",
      "--key",
      "copy-of-obj",
    );
    assert.deepEqual([copy.ContentLength, copy.ContentType], [first.length + 1000, "text/x-parts"]);
    await ok(
      root,
      "s3api",
      "copy-object",
      "--bucket",
      "other",
      "--key",
      "replaced",
      "--copy-source",
      "other/copy-of-obj",
      "--metadata-directive",
      "REPLACE",
      "--content-type",
      "text/plain",
      "--cache-control",
      "max-age=60",
      "--metadata",
      "k=v",
    );
    const replaced = await ok(
      root,
      "s3api",
      "head-object",
      "--bucket",
      "other",
      "--key",
      "replaced",
    );
    assert.deepEqual(
      [replaced.ContentType, replaced.CacheControl, replaced.Metadata],
      ["text/plain", "max-age=60", { k: "v" }],
    );
    await refused(
      "InvalidRequest",
      root,
      "s3api",
      "copy-object",
      "--bucket",
      "other",
      "--key",
      "replaced",
      "--copy-source",
      "other/replaced",
    );
    await refused(
      "NoSuchKey",
      root,
      "s3api",
      "copy-object",
      "--bucket",
      "other",
      "--key",
      "x",
      "--copy-source",
      "other/none",
    );
    const deleted = await ok(
      root,
      "s3api",
      "delete-objects",
      "--bucket",
      "other",
      "--delete",
      JSON.stringify({ Objects: [{ Key: "copy-of-obj" }, { Key: "replaced" }, { Key: "never" }] }),
    );
    assert.deepEqual(deleted.Deleted.map((d: { Key: string }) => d.Key).sort(), [
      "copy-of-obj",
      "never",
      "replaced",
    ]);
    await ok(root, "s3api", "delete-bucket", "--bucket", "other");
    await ok(root, "s3", "rm", "--recursive", "s3://big/");
    await ok(root, "s3api", "delete-bucket", "--bucket", "big");
  });
});
