/**
 * The plaintext TCP front end of the key-value store (SPEC §5): one command per line, one
 * reply line per command, in order, many commands per connection.
 *
 * Requests of one connection are started as they arrive (so pipelined writes share a group
 * commit) and answered in arrival order. `OK` is sent only after the write is committed and
 * applied; `GET` waits for a linearizable read barrier.
 */
import { createServer, type Server, type Socket } from "node:net";
import type { Logger } from "../observability/logger.ts";
import { NotLeaderError, OverloadedError, StoppedError, TimeoutError } from "../raft/node.ts";
import { encodeKvCommand } from "./kv-command.ts";
import { type KvRequest, MAX_LINE_BYTES, parseRequest, valueReply } from "./kv-protocol.ts";

/** What the server needs of the Raft node. */
export interface KvReplica {
  propose(data: Uint8Array): Promise<unknown>;
  readBarrier(): Promise<void>;
  status(): { role: string; lead: string };
}

export interface KvServerOptions {
  readonly host: string;
  readonly port: number;
  readonly replica: KvReplica;
  readonly read: (key: Buffer) => Buffer | undefined;
  /** Client address (`host:port`) of a node by id, for NOT_LEADER replies. */
  readonly clientAddressOf: (id: string) => string | undefined;
  /** Open connections beyond this are told so and closed. Default 1,024. */
  readonly maxConnections?: number;
  /** A connection idle this long is closed. Default 300,000 ms. */
  readonly idleTimeoutMs?: number;
  /** Commands in flight on one connection before it stops reading. Default 4,096. */
  readonly maxPipelined?: number;
  readonly logger?: Logger;
}

const OK = Buffer.from("OK\n");
const line = (text: string) => Buffer.from(`${text}\n`);

export class KvServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** Where it listens, with the real port. */
  address = "";

  constructor(private readonly o: KvServerOptions) {}

  async listen(): Promise<void> {
    // Half-open: a client such as `nc -N` closes its side after the last command and still
    // expects every reply; the socket is ended once they are written.
    const server = createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.o.port, this.o.host, () => resolve());
    });
    const bound = server.address();
    this.address = typeof bound === "object" && bound ? `${this.o.host}:${bound.port}` : "";
    this.server = server;
  }

  private accept(socket: Socket): void {
    if (this.sockets.size >= (this.o.maxConnections ?? 1024)) {
      socket.end("ERR too many connections\n");
      return;
    }
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.setTimeout(this.o.idleTimeoutMs ?? 300_000, () => socket.end("ERR idle timeout\n"));
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    const maxPipelined = this.o.maxPipelined ?? 4096;
    let parts: Buffer[] = [];
    let partsLength = 0;
    let inFlight = 0;
    let closing = false;
    let replies: Promise<void> = Promise.resolve();
    // Program order per connection: a read waits for the writes before it, a write for the
    // reads before it; consecutive writes are proposed at once (the log keeps their order).
    let writesDone: Promise<unknown> = Promise.resolve();
    let readsDone: Promise<unknown> = Promise.resolve();
    const begin = (raw: Buffer): Promise<Buffer> => {
      const request = parseRequest(raw);
      if (request.kind === "error") return Promise.resolve(line(request.reply));
      if (request.kind === "get") {
        const reply = writesDone.then(() => this.handle(request));
        readsDone = Promise.all([readsDone, reply]);
        return reply;
      }
      const reply = readsDone.then(() => this.handle(request));
      writesDone = Promise.all([writesDone, reply]);
      return reply;
    };
    const enqueue = (reply: Promise<Buffer>) => {
      inFlight++;
      replies = replies.then(async () => {
        const bytes = await reply;
        if (!socket.destroyed) socket.write(bytes);
        inFlight--;
        if (socket.isPaused() && inFlight < maxPipelined / 2 && !closing) socket.resume();
      });
    };
    socket.on("end", () => {
      closing = true;
      replies = replies.then(() => {
        socket.end();
      });
    });
    socket.on("data", (chunk: Buffer) => {
      if (closing) return;
      let start = 0;
      let tooLong = false;
      for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
        const piece = chunk.subarray(start, nl);
        const whole =
          partsLength === 0 ? piece : Buffer.concat([...parts, piece], partsLength + piece.length);
        parts = [];
        partsLength = 0;
        start = nl + 1;
        if (whole.length > MAX_LINE_BYTES) {
          tooLong = true;
          break;
        }
        enqueue(begin(whole));
      }
      if (!tooLong && start < chunk.length) {
        parts.push(chunk.subarray(start));
        partsLength += chunk.length - start;
      }
      if (tooLong || partsLength > MAX_LINE_BYTES) {
        closing = true;
        // Earlier commands are still answered, in order, before the connection closes.
        replies = replies.then(() => {
          socket.end("ERR line too long\n");
        });
        return;
      }
      if (inFlight >= maxPipelined) socket.pause();
    });
  }

  /** The reply to one request; never rejects. */
  private async handle(request: Exclude<KvRequest, { kind: "error" }>): Promise<Buffer> {
    try {
      switch (request.kind) {
        case "get":
          await this.o.replica.readBarrier();
          return valueReply(this.o.read(request.key));
        case "set":
        case "delete": {
          const status = this.o.replica.status();
          if (status.role !== "leader") return this.redirect(status.lead);
          const command =
            request.kind === "set"
              ? { op: "set" as const, key: request.key, value: request.value }
              : { op: "delete" as const, key: request.key };
          await this.o.replica.propose(encodeKvCommand(command));
          return OK;
        }
      }
    } catch (error) {
      if (error instanceof NotLeaderError) return this.redirect(error.leaderId);
      if (error instanceof TimeoutError) return line("ERR TIMEOUT outcome unknown");
      if (error instanceof OverloadedError) return line("ERR OVERLOADED");
      if (error instanceof StoppedError) return line("ERR NO_LEADER");
      this.o.logger?.error({ err: error }, "key-value request failed");
      return line("ERR internal error");
    }
  }

  /** NOT_LEADER with the leader's client address, or NO_LEADER when none is known. */
  private redirect(leaderId: string): Buffer {
    const address = leaderId ? this.o.clientAddressOf(leaderId) : undefined;
    return address ? line(`ERR NOT_LEADER ${address}`) : line("ERR NO_LEADER");
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
