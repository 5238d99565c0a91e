/**
 * A client of the plaintext protocol: one connection with pipelined requests, and a helper
 * that follows NOT_LEADER redirects and waits out elections, for people without nc.
 */
import { connect, type Socket } from "node:net";

/** One TCP connection; replies are matched to requests in order. */
export class KvConnection {
  private readonly waiting: Array<{
    resolve: (line: string) => void;
    reject: (error: Error) => void;
  }> = [];
  private buffer = "";
  private failure: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.buffer += chunk;
      for (let nl = this.buffer.indexOf("\n"); nl >= 0; nl = this.buffer.indexOf("\n")) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        this.waiting.shift()?.resolve(line);
      }
    });
    const fail = (error: Error) => {
      this.failure = error;
      for (const w of this.waiting.splice(0)) w.reject(error);
    };
    socket.on("error", fail);
    socket.on("close", () => fail(new Error("connection closed")));
  }

  /** Connects to `address` (`host:port`), within `timeoutMs`. */
  static open(address: string, timeoutMs = 5000): Promise<KvConnection> {
    const colon = address.lastIndexOf(":");
    const host = address.slice(0, colon).replace(/^\[|\]$/g, "");
    const port = Number(address.slice(colon + 1));
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(
        () => socket.destroy(new Error(`connect to ${address} timed out`)),
        timeoutMs,
      );
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve(new KvConnection(socket));
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  /** Sends one command line (without the newline) and resolves with its reply line. */
  request(line: string): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.socket.write(`${line}\n`);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * Sends `line` to the cluster: starts at the first seed, follows `ERR NOT_LEADER`, retries
 * `ERR NO_LEADER`, timeouts and refused connections with backoff until `deadlineMs` passes.
 * Returns the final reply line.
 */
export async function kvRequest(
  seeds: readonly string[],
  line: string,
  deadlineMs = 10_000,
): Promise<string> {
  const deadline = Date.now() + deadlineMs;
  let address = seeds[0]!;
  let attempt = 0;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const connection = await KvConnection.open(address);
      try {
        last = await connection.request(line);
      } finally {
        connection.close();
      }
      const redirect = /^ERR NOT_LEADER (\S+)$/.exec(last);
      if (redirect) {
        address = redirect[1]!;
        continue;
      }
      if (last !== "ERR NO_LEADER" && !last.startsWith("ERR TIMEOUT")) return last;
    } catch (error) {
      last = `ERR ${(error as Error).message}`;
      address = seeds[++attempt % seeds.length]!;
    }
    await new Promise((r) => setTimeout(r, Math.min(500, 25 * 2 ** Math.min(attempt++, 5))));
  }
  return last;
}
