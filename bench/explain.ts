// The explanation every assignment carries: the cached phrase lookup (src/model/explain.ts) against the
// Date-based one it replaced (kept here as its reference twin), over the same sessions, alternating.
import { DEVICE_TYPES, GENRES } from '../src/model/events.js'
import { explain } from '../src/model/explain.js'
import { dominantGenre } from '../src/model/observation.js'
import type { Session } from '../src/model/sessionizer.js'
import { mdTable, writeResult, type BenchContext } from './lib.js'

/** The explanation as first written: a Date, template strings, a filter and a join per call. */
export function explainWithDate(s: Session, utcOffsetMinutes: number): string {
  const local = new Date(s.startTs + utcOffsetMinutes * 60_000)
  const weekend = local.getUTCDay() === 0 || local.getUTCDay() === 6
  const h = local.getUTCHours()
  const part = h < 5 ? 'night' : h < 12 ? 'morning' : h < 17 ? 'afternoon' : h < 22 ? 'evening' : 'late evening'
  const g = dominantGenre(s)
  return [`${weekend ? 'weekend' : 'weekday'} ${part}`, s.deviceType, g >= 0 ? GENRES[g] : undefined].filter(Boolean).join(', ')
}

export async function benchExplain(ctx: BenchContext): Promise<string> {
  const sessions = Array.from({ length: 10_000 }, (_, i) => ({
    startTs: 1.7e12 + i * 3.7e6, deviceType: DEVICE_TYPES[i % DEVICE_TYPES.length]!, genreWeights: Float64Array.from(GENRES.map((_, j) => (i * 7 + j) % 5)),
  }) as unknown as Session)
  const rounds = ctx.quick ? 3 : 9
  const repeat = ctx.quick ? 20 : 100
  const cases: Record<string, (s: Session, o: number) => string> = { 'Date-based (before)': explainWithDate, 'cached phrases (now)': explain }
  const ns = new Map<string, number[]>(Object.keys(cases).map((k) => [k, []]))
  let chars = 0
  for (let r = 0; r < rounds; r++) {
    for (const [name, f] of Object.entries(cases)) {
      const t = performance.now()
      for (let k = 0; k < repeat; k++) for (const s of sessions) chars += f(s, 60).length
      ns.get(name)!.push(((performance.now() - t) * 1e6) / (repeat * sessions.length))
    }
  }
  if (chars === 0) throw new Error('no explanations made')
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const base = median(ns.get('Date-based (before)')!)
  const rows = [...ns].map(([name, xs]) => ({ name, nsPerCall: Math.round(median(xs)), ofBefore: median(xs) / base, rounds: xs.length }))
  writeResult('explain', { sessions: sessions.length, repeat, rows })
  return mdTable(['case', 'ns a call (median)', '× before'], rows.map((r) => [r.name, r.nsPerCall, r.ofBefore.toFixed(2)]))
}
