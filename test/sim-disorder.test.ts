// Disorder injection for tests of the ingest path: duplicates (same id re-sent) and late deliveries at the
// configured rates when enabled, in arrival order; none at all when disabled.
import { describe, expect, it } from 'vitest'
import { simulate } from '../src/sim/simulator.js'

describe('disorder injection', () => {
  it('re-sends and delays events at the configured rates and yields them in arrival order', () => {
    const maxLatenessMs = 120_000
    const sim = simulate({ households: 60, days: 7, duplicateRate: 0.05, lateRate: 0.1, maxLatenessMs })
    const deliveries = [...sim.deliveries()]
    const n = sim.eventCount
    const dup = deliveries.filter((d) => d.duplicate)
    const late = deliveries.filter((d) => d.late)
    expect(deliveries.length).toBe(n + dup.length)
    // binomial shares within 4 standard errors √(p(1−p)/n)
    expect(Math.abs(dup.length / n - 0.05)).toBeLessThan(4 * Math.sqrt((0.05 * 0.95) / n))
    expect(Math.abs(late.length / n - 0.1)).toBeLessThan(4 * Math.sqrt((0.1 * 0.9) / n))

    const firsts = new Map(deliveries.filter((d) => !d.duplicate).map((d) => [d.event.id, d]))
    expect(firsts.size).toBe(n)
    const bad = deliveries.filter((d, i) => {
      if (i > 0 && d.arrivalMs < deliveries[i - 1]!.arrivalMs) return true // arrival order
      if (d.late && !(d.arrivalMs > d.event.ts && d.arrivalMs <= d.event.ts + maxLatenessMs)) return true
      if (!d.late && !d.duplicate && d.arrivalMs !== d.event.ts) return true
      if (d.duplicate) {
        const first = firsts.get(d.event.id)
        return first === undefined || JSON.stringify(first.event) !== JSON.stringify(d.event) || d.arrivalMs <= first.arrivalMs
      }
      return false
    })
    expect(bad).toEqual([])
    // the event stream therefore leaves event-time order
    let maxTs = -Infinity
    let behind = 0
    for (const d of deliveries) {
      if (d.event.ts < maxTs) behind++
      maxTs = Math.max(maxTs, d.event.ts)
    }
    expect(behind).toBeGreaterThan(0.02 * n)
    expect([...sim.events()].map((e) => e.id)).toEqual(deliveries.map((d) => d.event.id))
  })

  it('injects nothing when disabled (the default)', () => {
    const sim = simulate({ households: 60, days: 7 })
    const deliveries = [...sim.deliveries()]
    expect(deliveries.length).toBe(sim.eventCount)
    expect(deliveries.filter((d) => d.late || d.duplicate || d.arrivalMs !== d.event.ts)).toEqual([])
    expect(new Set(deliveries.map((d) => d.event.id)).size).toBe(sim.eventCount)
    expect(deliveries.filter((d, i) => i > 0 && d.event.ts < deliveries[i - 1]!.event.ts)).toEqual([])
  })
})
