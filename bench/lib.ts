// Benchmark harness: tinybench with warm-up, medians per call, results written as JSON to bench/results/
// with the machine they ran on. These machines are shared and noisy: compare ratios within one run.
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { Bench } from 'tinybench'
import { projectRoot } from '../src/paths.js'

export interface BenchContext {
  /** Shorter runs (smoke test of the benchmark itself); numbers are then only indicative. */
  readonly quick: boolean
  readonly log: (line: string) => void
}

export interface Case {
  readonly name: string
  readonly fn: () => unknown
  /** Operations per call of fn (the median is divided by it). Default 1. */
  readonly reps?: number
}

export interface Measured {
  readonly name: string
  /** Median time per operation, microseconds. */
  readonly medianUs: number
  readonly p75Us: number
  readonly rmePct: number
  readonly samples: number
}

/** Runs the cases one after another, each with warm-up, and returns per-operation medians. */
export async function measure(ctx: BenchContext, cases: readonly Case[], timeMs = 400): Promise<Measured[]> {
  const bench = new Bench({
    time: ctx.quick ? Math.min(50, timeMs) : timeMs,
    warmupTime: ctx.quick ? 20 : 100,
    iterations: ctx.quick ? 3 : 10,
  })
  for (const c of cases) bench.add(c.name, c.fn)
  await bench.run()
  return bench.tasks.map((task, i) => {
    const r = task.result
    if (r.state !== 'completed') throw new Error(`benchmark "${task.name}" ended ${r.state}${'error' in r ? `: ${String(r.error)}` : ''}`)
    const reps = cases[i]!.reps ?? 1
    return {
      name: task.name,
      medianUs: (r.latency.p50 * 1000) / reps,
      p75Us: (r.latency.p75 * 1000) / reps,
      rmePct: r.latency.rme,
      samples: r.latency.samplesCount,
    }
  })
}

/** Where this run happened, recorded beside every result. */
export function machine(): Record<string, unknown> {
  const cpu = cpus()
  return { node: process.version, cpus: cpu.length, cpuModel: cpu[0]?.model ?? 'unknown', platform: process.platform, date: new Date().toISOString() }
}

/** Writes bench/results/<name>.json and returns its path. */
export function writeResult(name: string, payload: Record<string, unknown>): string {
  const dir = join(projectRoot, 'bench', 'results')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${name}.json`)
  writeFileSync(file, JSON.stringify({ benchmark: name, machine: machine(), ...payload }, null, 2) + '\n')
  return file
}

/** A Markdown table. */
export function mdTable(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const line = (cells: readonly (string | number)[]) => `| ${cells.join(' | ')} |`
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n')
}

/** A duration in µs, printed with a sensible unit. */
export function fmtUs(us: number): string {
  if (us < 1) return `${(us * 1000).toFixed(0)} ns`
  if (us < 1000) return `${us.toFixed(us < 10 ? 2 : 1)} µs`
  return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)} ms`
}

export function ratio(a: number, b: number): string {
  return `${(a / b).toFixed(2)}×`
}
