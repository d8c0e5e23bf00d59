// A realistic, deterministic DemoReport for the report.html tests: shaped like `idr demo` output (15
// reliability bins with the low ones empty, a log-spaced latency histogram, a 6 × 7 size confusion, three
// example households with a few weeks of sessions), from a seeded generator so every run renders the same page.
import { REPORT_VERSION, type DemoReport, type ExampleHousehold, type ExampleSession, type PersonDescription } from '../../src/demo/report.js'

const DAY_MS = 86_400_000
const HOUR_MS = 3_600_000
/** Monday 2026-03-02 00:00 UTC: the simulated weeks start here. */
const START_MS = Date.UTC(2026, 2, 2)

/** Park–Miller MINSTD in [0, 1). */
function minstd(seed: number): () => number {
  let s = seed
  return () => {
    s = (s * 48271) % 2147483647
    return s / 2147483647
  }
}

interface TruePersonSpec { id: string, archetype: string, hour: number, device: string, genre: string, minutes: number, weight: number }

const PEOPLE: readonly TruePersonSpec[] = [
  { id: 'p1', archetype: 'evening-drama', hour: 20.75, device: 'tv living-room 55in', genre: 'drama', minutes: 48, weight: 0.45 },
  { id: 'p2', archetype: 'morning-news', hour: 6.75, device: 'mobile phone', genre: 'news', minutes: 22, weight: 0.3 },
  { id: 'p3', archetype: 'child-cartoons', hour: 17.25, device: 'tablet kids', genre: 'kids', minutes: 30, weight: 0.25 },
  { id: 'p4', archetype: 'console-gamer', hour: 21, device: 'console', genre: 'scifi', minutes: 70, weight: 0.2 },
]

/** One example household: `size` true persons, the engine found them as p1… in the same order. */
function household(account: string, size: number, days: number, errorRate: number, rand: () => number): ExampleHousehold {
  const people = PEOPLE.slice(0, size)
  const totalWeight = people.reduce((a, p) => a + p.weight, 0)
  const sessions: ExampleSession[] = []
  for (let d = 0; d < days; d++) {
    for (const p of people) {
      if (rand() > p.weight * 1.6) continue
      const startMs = START_MS + d * DAY_MS + Math.round((p.hour + (rand() - 0.5) * 2.5) * HOUR_MS)
      const wrong = rand() < errorRate
      const others = people.filter((o) => o.id !== p.id)
      const top = wrong && others.length > 0 ? others[Math.floor(rand() * others.length)]! : p
      const pTop = wrong ? 0.45 + rand() * 0.2 : 0.7 + rand() * 0.29
      const rest = people.filter((o) => o.id !== top.id)
      const persons = [{ person: top.id, p: pTop }, ...rest.map((o, i) => ({ person: o.id, p: i === 0 ? (1 - pTop) * 0.8 : (1 - pTop) * 0.2 / Math.max(1, rest.length - 1) }))]
      sessions.push({
        session: `${account}#${sessions.length + 1}`,
        startMs,
        durationMin: Math.round(p.minutes * (0.6 + rand() * 0.8)),
        device: p.device,
        genre: p.genre,
        truth: p.id,
        persons: size === 1 ? [{ person: 'p1', p: 1 }] : persons,
        correct: !wrong,
      })
    }
  }
  sessions.sort((a, b) => a.startMs - b.startMs)
  const words = (p: TruePersonSpec): string =>
    `${p.hour < 12 ? 'mornings' : p.hour < 19 ? 'afternoons' : 'evenings'} around ${String(Math.floor(p.hour)).padStart(2, '0')}:${String(Math.round((p.hour % 1) * 60)).padStart(2, '0')} on the ${p.device}; mostly ${p.genre}; ~${p.minutes} min`
  const truth: PersonDescription[] = people.map((p) => ({ person: p.id, share: p.weight / totalWeight, words: words(p), archetype: p.archetype }))
  const found: PersonDescription[] = people.map((p) => ({ person: p.id, share: p.weight / totalWeight, words: words(p), matches: p.id }))
  const right = sessions.filter((s) => s.correct).length
  return { account, trueSize: size, foundSize: size, accuracy: sessions.length > 0 ? right / sessions.length : 0, found, truth, sessions }
}

/** 15 equal-width bins over [0, 1]; the engine never reports a top probability below 1/K, so the low bins stay empty. */
function reliability(rand: () => number): DemoReport['quality']['reliability'] {
  return Array.from({ length: 15 }, (_, b) => {
    const lo = b / 15
    const hi = (b + 1) / 15
    if (b < 4) return { lo, hi, count: 0, meanConfidence: null, accuracy: null }
    const meanConfidence = lo + (hi - lo) * (0.4 + rand() * 0.2)
    const count = Math.round(300 * 1.35 ** b)
    return { lo, hi, count, meanConfidence, accuracy: Math.min(1, Math.max(0, meanConfidence - 0.04 + rand() * 0.05)) }
  })
}

/** Log-spaced edges 0.05 ms · 10^(i/10) up to 500 ms, counts a log-normal bump around 3 ms. */
function latencyHistogram(): { edgesMs: number[], counts: number[] } {
  const edgesMs = Array.from({ length: 41 }, (_, i) => Number((0.05 * 10 ** (i / 10)).toPrecision(4)))
  const counts = edgesMs.slice(0, -1).map((lo, i) => {
    const mid = Math.sqrt(lo * edgesMs[i + 1]!)
    const z = (Math.log10(mid) - Math.log10(3)) / 0.3
    return Math.round(9000 * Math.exp(-0.5 * z * z))
  })
  return { edgesMs, counts }
}

/** Rows: true size 1…6; columns: found size 1…7; most households on the diagonal. */
function sizeConfusion(): DemoReport['quality']['sizeConfusion'] {
  const trueSizes = [1, 2, 3, 4, 5, 6]
  const foundSizes = [1, 2, 3, 4, 5, 6, 7]
  const households = [520, 610, 420, 280, 110, 60]
  const counts = trueSizes.map((t, i) => foundSizes.map((f) => {
    const n = households[i]!
    if (f === t) return Math.round(n * (0.85 - 0.08 * i))
    if (Math.abs(f - t) === 1) return Math.round(n * (0.06 + 0.035 * i))
    return Math.abs(f - t) === 2 ? Math.round(n * 0.01 * i) : 0
  }))
  return { trueSizes, foundSizes, counts }
}

/** A DemoReport as `idr demo` would write it; `overrides` replace top-level fields. */
export function sampleReport(overrides: Partial<DemoReport> = {}): DemoReport {
  const rand = minstd(20260302)
  const histogram = latencyHistogram()
  const examples = [
    household('acct-00017', 3, 28, 0.12, rand),
    household('acct-00342', 2, 28, 0.05, rand),
    household('acct-01288', 4, 28, 0.2, rand),
  ]
  const events = 1_234_567
  const seconds = 41.2
  return {
    version: REPORT_VERSION,
    generatedAt: '2026-03-30T12:00:00.000Z',
    idrVersion: '0.1.0',
    machine: { node: 'v20.19.0', platform: 'linux x64', cpus: 2, cpuModel: 'AMD EPYC 7B13' },
    config: {
      households: 2000, days: 28, seed: 42, difficulty: 'default', bus: 'in-process', natsUrl: null,
      db: '/tmp/idr-demo/idr.sqlite', poolThreads: 1, batch: 100,
    },
    run: {
      events, messages: 12_346, seconds, eventsPerSec: events / seconds, assignments: 168_420, dlqRecords: 3,
      sessions: 84_210, snapshotBytes: 48_234_496,
    },
    latencyMs: {
      count: histogram.counts.reduce((a, b) => a + b, 0), p50: 3.04, p90: 7.81, p99: 21.4, p999: 58.2, max: 212.5, histogram,
      definition: 'from publishing a session\'s first event to receiving its \'open\' assignment',
    },
    quality: {
      accuracy: 0.812, ceiling: 0.884, accuracyToCeiling: 0.812 / 0.884, accuracyAtOpen: 0.721, baselineDominant: 0.523,
      sizeExact: 0.743, sizeMae: 0.291, ece: 0.031, brier: 0.142,
      accuracyAfterSessions: { 0: 0.41, 1: 0.58, 3: 0.69, 5: 0.76, 10: 0.83, 20: 0.86, 50: null },
      reliability: reliability(rand),
      sizeConfusion: sizeConfusion(),
    },
    examples,
    ...overrides,
  }
}
