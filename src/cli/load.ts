// `idr load`: load and latency over a real NATS server, with the ceiling measured in the same run
// (src/load/, docs/benchmarks.md "Load over NATS").
import { LOAD_HELP, parseLoadArgs } from '../load/options.js'
import { renderLoad } from '../load/report.js'
import { runLoad } from '../load/run.js'
import { requireBenchmarks } from './bench.js'

export async function loadCommand(argv: string[]): Promise<number> {
  const parsed = parseLoadArgs(argv)
  if (parsed.kind === 'help') {
    console.log(LOAD_HELP)
    return 0
  }
  if (parsed.kind === 'sweep') {
    requireBenchmarks('idr load --sweep')
    const { runSweep } = await import('../../bench/load-sweep.js')
    await runSweep({ quick: parsed.quick, repeats: parsed.repeats, url: parsed.url, log: (line) => console.log(line) })
    return 0
  }
  const o = parsed.options
  const result = await runLoad(o, (line) => { if (!o.json) console.error(line) })
  console.log(o.json ? JSON.stringify(result) : renderLoad(result))
  return 0
}
