// `idr bench` and `idr load --sweep`. The benchmarks live in the repository's bench/, which the published
// package leaves out (package.json "files"), so the CLI imports them only when asked and says so when absent.
import { existsSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { IdrError } from '../errors.js'
import { builtFile } from '../paths.js'

/** Throws BENCH_NOT_INSTALLED when this install has no compiled bench/ (an installed package, not a clone). */
export function requireBenchmarks(command: string): void {
  if (existsSync(builtFile('bench/run.js'))) return
  throw new IdrError('BENCH_NOT_INSTALLED', `\`${command}\` runs the benchmarks in bench/, which are in idr's repository but not in `
    + `the installed package (${builtFile('bench')} does not exist): run it from a clone, after npm install`)
}

export async function benchCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { quick: { type: 'boolean', default: false } }, allowPositionals: true, strict: true })
  requireBenchmarks('idr bench')
  const { runBenchmarks } = await import('../../bench/run.js')
  await runBenchmarks(positionals, { quick: values.quick ?? false, log: (line) => console.log(line) })
  return 0
}
