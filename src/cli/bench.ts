// `idr bench` and `idr load --sweep`. The benchmarks live in the repository's bench/, which the published
// package leaves out (package.json "files"), so the CLI imports them only when asked and says so when absent.
import { existsSync } from 'node:fs'
import { IdrError } from '../errors.js'
import { builtFile } from '../paths.js'
import { parseFlags, wantsHelp } from '../options/args.js'

export const BENCH_NAMES = 'kernels, refit, pool-crossover, explain, ingress, household, engine, simulator, attribution, attribution-truth, erasure, journeys, peers, landing'

export const BENCH_USAGE = `idr bench [NAME...] [--quick]: run benchmarks and write bench/results/*.json (summary: docs/benchmarks.md).
From a clone only: the installed package has no bench/.

  NAME...    which benchmarks (default: all): ${BENCH_NAMES}
  --quick    fewer iterations, for a smoke run

Example: idr bench kernels refit --quick`

/** Throws BENCH_NOT_INSTALLED when this install has no compiled bench/ (an installed package, not a clone). */
export function requireBenchmarks(command: string): void {
  if (existsSync(builtFile('bench/run.js'))) return
  throw new IdrError('BENCH_NOT_INSTALLED', `\`${command}\` runs the benchmarks in bench/, which are in idr's repository but not in `
    + `the installed package (${builtFile('bench')} does not exist): run it from a clone, after npm install`)
}

export async function benchCommand(args: string[]): Promise<number> {
  if (wantsHelp(args)) {
    console.log(BENCH_USAGE)
    return 0
  }
  const { values, positionals } = parseFlags(args, { quick: { type: 'boolean' } }, Infinity)
  requireBenchmarks('idr bench')
  const { runBenchmarks } = await import('../../bench/run.js')
  await runBenchmarks(positionals, { quick: values.quick ?? false, log: (line) => console.log(line) })
  return 0
}
