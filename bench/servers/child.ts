/**
 * What every benchmark server process does around its server: tell the parent its port over
 * IPC, and stop when the parent disconnects (it finished, crashed or was killed) or on a
 * signal (Ctrl-C reaches the whole process group), so no server outlives a run.
 */
export function serving(port: number, close: () => Promise<unknown> | void): void {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // A server that cannot close within 3 s is ended anyway: a benchmark must not hang here.
    setTimeout(() => process.exit(0), 3000).unref();
    Promise.resolve()
      .then(close)
      .finally(() => process.exit(0));
  };
  process.on("disconnect", stop);
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  if (!process.send) throw new Error("a benchmark server runs as a child process with IPC (bench/lib/servers.ts)");
  process.send({ port });
}
