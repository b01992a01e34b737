/** CPU time and memory of another process, read from Linux's /proc (as `ps` and `top` do). */
import { execFileSync } from "node:child_process";
import fs from "node:fs";

let ticksPerSecond: number | undefined;

/** Clock ticks per second of utime/stime (`getconf CLK_TCK`, 100 on Linux nearly always). */
export function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
  if (!Number.isFinite(ticksPerSecond) || ticksPerSecond <= 0) throw new Error(`getconf CLK_TCK gave ${ticksPerSecond}`);
  return ticksPerSecond;
}

/** User and system CPU time the process has used so far, in µs (resolution: one clock tick). */
export function cpuMicros(pid: number): { user: number; system: number; total: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 (utime) and 15 (stime) of proc(5); fields[0] here is field 3 (state).
  const user = (Number(fields[11]) / clockTicks()) * 1e6;
  const system = (Number(fields[12]) / clockTicks()) * 1e6;
  return { user, system, total: user + system };
}

/** Resident set size now and its peak so far, in KiB (VmRSS and VmHWM of /proc/<pid>/status). */
export function memoryKiB(pid: number): { rssKiB: number; peakKiB: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  return { rssKiB: field("VmRSS"), peakKiB: field("VmHWM") };
}
