// `idr demo` (what `npm start` runs): simulated households streamed through the real engine, a progress bar
// with live throughput, a summary on the terminal, and report.json + a self-contained report.html.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { renderReportHtml } from '../demo/html.js'
import { trueLabel, type DemoReport } from '../demo/report.js'
import { DEMO_DEFAULTS, runDemo, type DemoProgress } from '../demo/run.js'
import { spawnNatsServer, type SpawnedNats } from '../load/nats-server.js'
import { DIFFICULTIES } from '../sim/options.js'
import { choice, parseFlags, UsageError, wantsHelp, wholeNumber } from '../options/args.js'

export const DEMO_USAGE = `idr demo [options]: simulated households through the real engine, with a report

  --households N     households simulated (default ${DEMO_DEFAULTS.households})
  --days D           days of viewing (default ${DEMO_DEFAULTS.days})
  --seed S           simulation seed (default ${DEMO_DEFAULTS.seed})
  --difficulty L     easy | default | hard (default ${DEMO_DEFAULTS.difficulty})
  --out DIR          where report.json and report.html go (default ./idr-demo)
  --db FILE          the engine's SQLite file, kept (default: a temporary file, removed at the end)
  --keep-db          keep the temporary SQLite file (its path is printed)
  --nats URL         run over a real nats-server instead of the in-process bus
  --spawn-nats       start a local nats-server (needs nats-server installed) and run over it
  --pool-threads N   refit worker threads, 0 = inline (default: cores, at most 4)
  --batch B          events per published message (default ${DEMO_DEFAULTS.batch})
  --json             print report.json to stdout instead of the summary

Examples:
  idr demo --households 200 --days 14
  idr demo --spawn-nats --difficulty hard --out /tmp/idr-hard`

const FLAGS = {
  households: { type: 'string' }, days: { type: 'string' }, seed: { type: 'string' }, difficulty: { type: 'string' },
  out: { type: 'string' }, db: { type: 'string' }, 'keep-db': { type: 'boolean' }, nats: { type: 'string' }, 'spawn-nats': { type: 'boolean' },
  'pool-threads': { type: 'string' }, batch: { type: 'string' }, json: { type: 'boolean' },
} as const

export async function demoCommand(args: string[]): Promise<number> {
  if (wantsHelp(args)) {
    console.log(DEMO_USAGE)
    return 0
  }
  const { values } = parseFlags(args, FLAGS)
  const difficulty = choice('difficulty', values.difficulty, DIFFICULTIES) ?? DEMO_DEFAULTS.difficulty
  const options = {
    households: wholeNumber('households', values.households, 1), days: wholeNumber('days', values.days, 1),
    seed: wholeNumber('seed', values.seed, 0, 2 ** 32 - 1), poolThreads: wholeNumber('pool-threads', values['pool-threads'], 0, 256),
    batch: wholeNumber('batch', values.batch, 1),
  }
  if (values.nats !== undefined && values['spawn-nats']) throw new UsageError('--nats and --spawn-nats exclude each other')
  const out = resolve(values.out ?? 'idr-demo')
  mkdirSync(out, { recursive: true })
  let server: SpawnedNats | undefined
  if (values['spawn-nats']) {
    server = await spawnNatsServer()
    console.error(`idr demo: started nats-server ${server.version} at ${server.url}`)
  }
  const bar = progressBar(process.stderr)
  let report: DemoReport
  try {
    report = await runDemo({
      ...options, difficulty, nats: server?.url ?? values.nats, db: values.db, keepDb: values['keep-db'] ?? false, onProgress: bar,
    })
  } finally {
    await server?.stop()
  }
  const json = join(out, 'report.json')
  const html = join(out, 'report.html')
  writeFileSync(json, JSON.stringify(report, null, 1) + '\n')
  writeFileSync(html, renderReportHtml(report))
  if (values.json) console.log(JSON.stringify(report))
  else console.log(`${summary(report)}\n\nreport: ${html}\n        ${json}${report.config.db === null ? '' : `\ndatabase: ${report.config.db}`}`)
  return 0
}

/** A one-line progress bar, redrawn in place on a terminal; otherwise a line every 10 %. */
function progressBar(stream: NodeJS.WriteStream): (p: DemoProgress) => void {
  let lastDecile = -1
  return (p) => {
    if (p.phase === 'simulate') {
      stream.write('simulating households and their Bayes ceiling…\n')
      return
    }
    const share = p.totalEvents > 0 ? Math.min(1, p.events / p.totalEvents) : 0
    const rate = `${Math.round(p.eventsPerSec).toLocaleString('en')} events/s`
    const counts = `${p.events.toLocaleString('en')} / ${p.totalEvents.toLocaleString('en')} events`
    if (stream.isTTY) {
      const width = 30
      const filled = Math.round(share * width)
      stream.write(`\r[${'█'.repeat(filled)}${'·'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}%  ${counts}  ${rate}  ${p.seconds.toFixed(1)} s `)
      if (p.phase === 'finish') stream.write('\n')
    } else {
      const decile = Math.floor(share * 10)
      if (decile > lastDecile || p.phase === 'finish') {
        lastDecile = decile
        stream.write(`${(share * 100).toFixed(0).padStart(3)}%  ${counts}  ${rate}\n`)
      }
    }
  }
}

const f3 = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(3))
const ms = (x: number): string => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0))

/** The terminal summary: throughput, latency, quality, and the first example household. */
export function summary(r: DemoReport): string {
  const q = r.quality
  const after = (k: string): string => f3(q.accuracyAfterSessions[k])
  const lines = [
    `idr demo: ${r.config.households.toLocaleString('en')} households × ${r.config.days} days (seed ${r.config.seed}, ${r.config.difficulty}), ${r.config.bus} bus, ${r.config.poolThreads} refit threads`,
    '',
    `throughput   ${Math.round(r.run.eventsPerSec).toLocaleString('en')} events/s  (${r.run.events.toLocaleString('en')} events, ${r.run.sessions.toLocaleString('en')} sessions scored, ${r.run.seconds.toFixed(1)} s)`,
    `latency      event → provisional assignment: p50 ${ms(r.latencyMs.p50)} ms, p99 ${ms(r.latencyMs.p99)} ms, p99.9 ${ms(r.latencyMs.p999)} ms (${r.latencyMs.count.toLocaleString('en')} sessions, at full speed)`,
    `accuracy     ${f3(q.accuracy)} of sessions to the right person; Bayes ceiling ${f3(q.ceiling)} → ${f3(q.accuracyToCeiling)} of the ceiling (most-active-person baseline ${f3(q.baselineDominant)})`,
    `by history   person's 2nd–3rd session ${after('1')}, 4th–5th ${after('3')}, 11th–20th ${after('10')}, 51st on ${after('50')}`,
    `size         household size found exactly ${f3(q.sizeExact)}, mean abs. error ${f3(q.sizeMae)} persons`,
    `calibration  ECE ${f3(q.ece)}, Brier ${f3(q.brier)}`,
    `outputs      ${r.run.assignments.toLocaleString('en')} assignments, ${r.run.dlqRecords} dead letters, ${(r.run.snapshotBytes / 1024).toFixed(0)} KiB of snapshots`,
  ]
  const ex = r.examples[0]
  if (ex) {
    lines.push('', `example ${ex.account}: ${ex.trueSize} people, the engine found ${ex.foundSize} (${(ex.accuracy * 100).toFixed(0)}% of sessions right)`)
    lines.push('  (found persons are the engine\'s p1, p2, …; true persons, from the simulation, are T1, T2, …)')
    for (const p of ex.found) lines.push(`  found ${p.person} (${(p.share * 100).toFixed(0)}%${p.matches ? `, is ${trueLabel(p.matches)}` : ', no true person'}): ${p.words}`)
    for (const p of ex.truth) lines.push(`  true  ${trueLabel(p.person)} (${(p.share * 100).toFixed(0)}%, ${p.archetype ?? ''}): ${p.words}`)
    for (const s of ex.sessions.slice(-5)) {
      const ps = s.persons.slice(0, 3).map((x) => `${x.person} ${x.p.toFixed(2)}`).join(', ')
      lines.push(`  ${new Date(s.startMs).toISOString().slice(0, 16).replace('T', ' ')}  ${s.device.padEnd(11)} ${s.genre.padEnd(11)} truth ${trueLabel(s.truth).padEnd(6)} → ${ps} ${s.correct ? '✓' : '✗'}`)
    }
  }
  return lines.join('\n')
}
