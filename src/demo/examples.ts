// The report's example households: who the engine found (its profiles, in words) next to the truth, and
// each session's probabilities, mapped to the true persons the same way the accuracy is (best one-to-one).
import type { Engine } from '../engine/engine.js'
import type { PersonProbability } from '../model/household.js'
import type { HouseholdProfile } from '../model/profile.js'
import type { ScoredHousehold } from '../sim/evaluate.js'
import { bestMappingAccuracy } from '../sim/metrics-clustering.js'
import type { Simulation } from '../sim/simulator.js'
import { describeHabits, deviceLabel, trueHabits } from './describe.js'
import type { DemoLink } from './link.js'
import { EXAMPLE_P_DECIMALS, type ExampleHousehold, type ExampleSession } from './report.js'
import { subjects } from '../contracts/subjects.js'

/** A play event of an example household, as the demo sent it. */
export interface ExamplePlay {
  readonly playId: string
  readonly startMs: number
  readonly device: string
  readonly deviceType: string
  readonly screenIn: number | undefined
  readonly genre: string
  readonly truth: string
}

/** What the demo collected for one example household while events streamed. */
export interface ExampleInput {
  readonly account: string
  /** Play events by event id. */
  readonly plays: Map<string, ExamplePlay>
  /** Sessions by engine session id: the play that opened it and the latest probabilities. */
  readonly sessions: Map<string, ExamplePlay & { persons: readonly PersonProbability[] }>
}

export async function describeExamples(
  link: DemoLink, engine: Engine, sim: Simulation, inputs: ReadonlyMap<string, ExampleInput>, households: readonly ScoredHousehold[],
): Promise<ExampleHousehold[]> {
  const out: ExampleHousehold[] = []
  for (const input of inputs.values()) {
    const h = sim.households.find((x) => x.account === input.account)!
    const scored = households.find((x) => x.account === input.account)!
    const reply = await link.request(subjects().api('household.get'), new TextEncoder().encode(JSON.stringify({ account: input.account })))
    const profile = JSON.parse(new TextDecoder().decode(reply)) as HouseholdProfile
    const labels = new Map(h.devices.map((d) => [engine.ingress.pseudonymiser.device(d.id), deviceLabel(d.deviceType, d.screenIn)]))
    const toTrue = mapping(scored)
    const truth = trueHabits(h)
    const sessions: ExampleSession[] = [...input.sessions.entries()]
      .sort(([, a], [, b]) => a.startMs - b.startMs)
      .map(([session, s]) => {
        const sim = h.sessions.find((x) => x.device === s.device && x.startMs === s.startMs)
        const top = s.persons[0]?.person
        return {
          session, startMs: s.startMs, durationMin: sim ? Math.round(sim.durationSec / 6) / 10 : 0,
          device: deviceLabel(s.deviceType, s.screenIn), genre: s.genre, truth: s.truth, persons: s.persons.map(rounded),
          correct: top !== undefined && s.truth.split('+').includes(toTrue.get(top) ?? ''),
        }
      })
    out.push({
      account: input.account,
      trueSize: h.persons.length,
      foundSize: scored.k,
      accuracy: sessions.length > 0 ? sessions.filter((s) => s.correct).length / sessions.length : 0,
      found: (profile.persons ?? []).map((p) => ({
        person: p.person, share: p.share, matches: toTrue.get(p.person) ?? null,
        words: describeHabits({ ...p, devices: p.devices.map((d) => ({ device: labels.get(d.device) ?? 'a device', p: d.p })) }),
      })),
      truth: h.persons.map((p) => ({
        person: p.id, share: truth.get(p.id)!.share, archetype: p.archetype, words: describeHabits(truth.get(p.id)!.habits),
      })),
      sessions,
    })
  }
  return out
}

/** A probability rounded for readers: 0.2, not 0.19999999999999996. */
function rounded(q: PersonProbability): PersonProbability {
  const f = 10 ** EXAMPLE_P_DECIMALS
  return { person: q.person, p: Math.round(q.p * f) / f }
}

/** Engine person → true person under the best one-to-one mapping of the household's single-viewer sessions. */
function mapping(h: ScoredHousehold): Map<string, string> {
  const single = h.scored.filter((s) => !s.truth.includes('+') && s.final.length > 0)
  const pred = [...new Set(single.map((s) => s.final[0]!.person))].sort()
  const truths = [...new Set(single.map((s) => s.truth))].sort()
  if (single.length === 0) return new Map()
  const m = bestMappingAccuracy(single.map((s) => pred.indexOf(s.final[0]!.person)), single.map((s) => truths.indexOf(s.truth)))
  const out = new Map<string, string>()
  m.mapping.forEach((t, p) => { if (t !== null) out.set(pred[p]!, truths[t]!) })
  return out
}
