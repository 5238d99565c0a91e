/**
 * Structured logs (pino): JSON lines to a file in the node's data directory, and, when asked,
 * readable lines to the terminal.
 */
import { createWriteStream } from "node:fs";
import { type Logger, multistream, pino, type StreamEntry } from "pino";
import pretty from "pino-pretty";

export type { Logger };

export interface LoggerOptions {
  /** JSON log file (appended); omit for none. */
  readonly file?: string;
  /** Readable lines on stdout, prefixed with this node's id. */
  readonly pretty?: boolean;
  readonly level?: string;
  /** Bound into every line. */
  readonly nodeId?: string;
}

/** A logger writing where `options` says; a silent one when it says nowhere. */
export function createLogger(options: LoggerOptions): Logger {
  const streams: StreamEntry[] = [];
  if (options.file) streams.push({ stream: createWriteStream(options.file, { flags: "a" }) });
  if (options.pretty) {
    streams.push({
      stream: pretty({
        colorize: process.stdout.isTTY === true,
        ignore: "pid,hostname,node",
        messageFormat: options.nodeId ? `[${options.nodeId}] {msg}` : "{msg}",
        translateTime: "HH:MM:ss.l",
        destination: 1,
        sync: true,
      }),
    });
  }
  const level = options.level ?? "info";
  if (streams.length === 0) return pino({ level: "silent" });
  return pino(
    { level, base: options.nodeId ? { node: options.nodeId } : {} },
    multistream(streams.map((s) => ({ ...s, level: level as "info" }))),
  );
}
