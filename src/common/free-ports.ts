/** Free TCP ports on 127.0.0.1, for clusters started on one machine (tests, chaos runs). */
import { createServer } from "node:net";

/**
 * `count` ports the kernel says are free now: each bound once to port 0, then released. Another
 * process may take one before it is used; callers start nodes at once.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((done) => {
          const server = createServer();
          server.listen(0, "127.0.0.1", () => done(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (typeof address !== "object" || !address) throw new Error("a bound server has no port");
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  return ports;
}
