/**
 * The load loop every bench uses: N workers call `op` back to back for a fixed time after a
 * warm-up; each call's latency is recorded. Latency covers only the operation, not the loop.
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface Measurement {
  concurrency: number;
  ops: number;
  errors: number;
  seconds: number;
  /** Operations per second. */
  throughput: number;
  p50: number;
  p99: number;
  /** CPU used during the window, in cores, by label (see `watch`), and `machine`: the whole box. */
  cpu?: Record<string, number>;
  firstError?: string;
}

export interface MeasureOptions {
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** One operation; `worker` is 0…concurrency-1. Throwing counts as an error. */
  op: (worker: number) => Promise<void>;
  /** Processes whose CPU use to report, by label. */
  watch?: () => Record<string, number[]>;
  /** Also receives every recorded latency, so that slices measured apart can be `combine`d. */
  latencies?: number[];
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export async function measure(options: MeasureOptions): Promise<Measurement> {
  const { concurrency, op } = options;
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  // Phases go by the clock, not by timers: an embedded engine answers through microtasks only,
  // so a loop over it never lets a timer fire.
  const warmEnd = performance.now() + options.warmupMs;
  const end = warmEnd + options.durationMs;
  let cpuBefore: Ticks | null = null;
  let cpuAfter: Ticks | null = null;
  const snapshot = () => cpuTicks(options.watch?.() ?? {});

  const worker = async (w: number) => {
    for (;;) {
      const started = performance.now();
      if (started >= warmEnd) cpuBefore ??= snapshot();
      if (started >= end) {
        cpuAfter ??= snapshot();
        return;
      }
      const recording = started >= warmEnd;
      try {
        await op(w);
        if (recording) {
          const ms = performance.now() - started;
          latencies.push(ms);
          options.latencies?.push(ms);
        }
      } catch (err) {
        if (recording) errors++;
        firstError ??= String((err as Error).message ?? err);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const seconds = options.durationMs / 1000;

  latencies.sort((a, b) => a - b);
  const result: Measurement = {
    concurrency,
    ops: latencies.length,
    errors,
    seconds,
    throughput: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
  if (errors > 0 || latencies.length === 0) result.firstError = firstError;
  const before = cpuBefore as Ticks | null;
  const after = cpuAfter as Ticks | null;
  if (options.watch && before && after) result.cpu = cores(before, after, seconds);
  return result;
}

/**
 * One measurement of slices taken in turn with other work (`latencies`: what their `latencies`
 * option collected): operations over the slices' total time, percentiles over all their
 * latencies, CPU weighted by each slice's length.
 */
export function combine(slices: Measurement[], latencies: number[]): Measurement {
  const seconds = slices.reduce((sum, m) => sum + m.seconds, 0);
  const ops = slices.reduce((sum, m) => sum + m.ops, 0);
  const sorted = [...latencies].sort((a, b) => a - b);
  const result: Measurement = {
    concurrency: slices[0]!.concurrency,
    ops,
    errors: slices.reduce((sum, m) => sum + m.errors, 0),
    seconds,
    throughput: ops / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
  };
  const firstError = slices.find((m) => m.firstError)?.firstError;
  if (firstError) result.firstError = firstError;
  if (slices.every((m) => m.cpu)) {
    result.cpu = {};
    for (const m of slices) {
      for (const [label, cores] of Object.entries(m.cpu!)) {
        result.cpu[label] = (result.cpu[label] ?? 0) + (cores * m.seconds) / seconds;
      }
    }
  }
  return result;
}

/** Linux USER_HZ; /proc/<pid>/stat reports CPU time in these ticks. */
const CLOCK_TICKS = 100;

type Ticks = { machine: number; byPid: Record<string, Map<number, number>> };

/**
 * user+system ticks of each label's processes, and `machine`: every busy tick of every core, so
 * `machine` minus the labels is what other work on the box used.
 */
function cpuTicks(groups: Record<string, number[]>): Ticks {
  const total = fs
    .readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = total;
  const byPid: Record<string, Map<number, number>> = {};
  for (const [label, pids] of Object.entries(groups)) {
    byPid[label] = new Map();
    for (const pid of pids) {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        byPid[label].set(pid, Number(fields[11]) + Number(fields[12])); // utime, stime
      } catch {}
    }
  }
  return { machine: user + nice + system + irq + softirq, byPid };
}

/** Cores per label between two snapshots; a process born in between counts whole, one gone counts 0. */
function cores(before: Ticks, after: Ticks, seconds: number): Record<string, number> {
  const out: Record<string, number> = { machine: (after.machine - before.machine) / CLOCK_TICKS / seconds };
  for (const [label, pids] of Object.entries(after.byPid)) {
    let ticks = 0;
    for (const [pid, t] of pids) ticks += t - (before.byPid[label]?.get(pid) ?? 0);
    out[label] = ticks / CLOCK_TICKS / seconds;
  }
  return out;
}

/** Pids of the local PostgreSQL server's processes (all of them: other databases count too). */
export function postgresPids(): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') pids.push(Number(entry));
    } catch {}
  }
  return pids;
}

/** Cores used by everything on the box that is not one of the watched labels. */
export function otherCpu(m: Measurement): number | undefined {
  if (!m.cpu || m.cpu.machine === undefined) return undefined;
  let other = m.cpu.machine;
  for (const [label, cores] of Object.entries(m.cpu)) if (label !== 'machine') other -= cores;
  return Math.max(0, other);
}
