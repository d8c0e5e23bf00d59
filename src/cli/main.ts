#!/usr/bin/env node
// The `idr` command. Subcommands grow with the project; each validates its own flags.
import { version } from '../paths.js'
import { suggest } from '../options/suggest.js'
import { EXIT_FAILURE, EXIT_USAGE, exitCodeOf } from '../options/args.js'
import { attributeCommand } from './attribute.js'
import { auditCommand } from './audit.js'
import { BENCH_NAMES, benchCommand } from './bench.js'
import { demoCommand } from './demo.js'
import { evalCommand } from './eval.js'
import { gmmCommand } from './gmm.js'
import { loadCommand } from './load.js'
import { eraseCommand, exportCommand } from './privacy.js'
import { serveCommand } from './serve.js'
import { simulateCommand } from './simulate.js'

const HELP = `idr ${version} — who is watching: identity resolution for shared streaming accounts

Usage:
  idr --version                 print the version
  idr --help                    this text
  idr demo [options]            simulated households through the real engine; progress, summary, report.html
      --households 2000 --days 30 --seed 1 --difficulty easy|default|hard --out DIR
      --nats URL | --spawn-nats  over a real nats-server instead of the in-process bus (idr demo --help: all)
  idr eval [options]            the household model against simulated households (or --input NDJSON with truth)
      --households 1000 --days 30 --seed 1 --difficulty easy|default|hard
      --input events.ndjson      evaluate on a file instead (no ceiling)
      --json                     one JSON object instead of the table
  idr simulate --out events.ndjson [--households 100 --days 30 --seed 1 --difficulty easy|default|hard]
                                sample events with the true person on each (truth), as NDJSON for your own tools
  idr serve [options]           run the engine on NATS (core or JetStream) with a SQLite store
      --nats URL --db FILE --jetstream --partitions 0-3 --of 8 --http PORT   (idr serve --help: all settings)
  idr load (--nats URL | --spawn-nats) [--rate R | --max] [--duration S] [--batch B] [--jetstream] [--households N] [--json]
                                load and latency over NATS into idr serve, with the ceiling in the same run (idr load --help)
  idr attribute [options]       channel attribution of NDJSON events (account, person or true-person journeys),
                                of a ChannelAttribution path-table CSV, or of the journeys a running engine keeps
      --input FILE | --nats URL [--account A --person P --from T --to T]   --level account|person|oracle
      --model first|last|linear|decay|position|markov|shapley|hybrid|all --order 1..3 --half-life-days D --json
                                (idr attribute --help; docs/attribution.md)
  idr audit head|verify --db FILE [--anchor SEQ:HEX]   the privacy audit trail: its head, or a chain check
  idr erase --account A [--person P | --device D] (--nats URL | --db FILE [--nats URL])
                                erase what idr holds about an account, a person or a device (docs/privacy.md)
  idr export --account A [--person P] (--nats URL | --db FILE) [--out FILE]
                                everything idr holds about an account or a person, as JSON (access request)
  idr gmm FILE.csv [--columns a,b --k 1-6 --covariance full|diag --n-init 10 --seed 0 --json]
                                Gaussian-mixture model selection (BIC) on a CSV's numeric columns
  idr bench [NAME...] [--quick] run benchmarks (all by default) and write bench/results/*.json (from a clone:
                                the installed package has no bench/); names: ${BENCH_NAMES}

Every command answers --help (or -h). Exit codes: 0 done, 1 failed while running, 2 wrong command line.
Documentation: README.md, docs/ (operations.md, subjects.md, events.md, model.md, benchmarks.md).`

function help(text: string): number {
  console.log(text)
  return 0
}

const COMMANDS: Record<string, (args: string[]) => number | Promise<number>> = {
  demo: demoCommand,
  simulate: simulateCommand,
  eval: evalCommand,
  serve: serveCommand,
  load: loadCommand,
  attribute: attributeCommand,
  audit: auditCommand,
  erase: eraseCommand,
  export: exportCommand,
  gmm: gmmCommand,
  bench: benchCommand,
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  switch (command) {
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      return help(HELP)
    case '--version':
    case '-v':
      return help(version)
  }
  const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined
  if (!run) {
    const near = suggest(command, Object.keys(COMMANDS))
    console.error(`idr: unknown command "${command}"${near ? ` (did you mean "${near}"?)` : ''}; idr --help lists the commands`)
    return EXIT_USAGE
  }
  try {
    return await run(rest)
  } catch (err) {
    const code = exitCodeOf(err)
    console.error(`idr ${command}: ${err instanceof Error ? err.message : String(err)}`)
    if (code === EXIT_USAGE) console.error(`(idr ${command} --help lists its options)`)
    return code
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code },
  (err: unknown) => {
    console.error(`idr: ${err instanceof Error ? err.message : String(err)}`)
    process.exitCode = EXIT_FAILURE
  },
)
