// idr itself under both protocols on the peers' streams. Prequential: the loop of src/sim/evaluate.ts
// runModel (Household per account, the engine's event-time timers, a flush), scored by the same
// scoreHouseholds; bench/peers.ts checks it against evaluateEvents. Offline: after the whole stream, each kept
// session (the last historyMax) labelled by the final persons (Household.historyRows), with probability 1 —
// the public API gives the top person only, so no calibration is claimed for it.
import type { IdrEvent } from '../src/model/events.js'
import { Household, type HouseholdOutput, type PersonProbability } from '../src/model/household.js'
import type { ScoredHousehold, ScoredSession } from '../src/sim/evaluate.js'
import { EventClock } from '../src/runtime/event-time.js'

interface Run {
  readonly model: Household
  readonly scored: ScoredSession[]
  readonly perPerson: Map<string, number>
}

/** idr's scored households, prequential and offline, from one replay. */
export function idrBothProtocols(events: Iterable<IdrEvent>): { prequential: ScoredHousehold[], offline: ScoredHousehold[] } {
  const runs = new Map<string, Run>()
  const collect = (run: Run, out: HouseholdOutput) => {
    for (const s of out.closed) {
      const a = out.assignments.find((x) => x.stage === 'close' && x.session === s.id)
      if (a && s.truth === undefined) throw new Error(`${s.id} closed without truth: the offline tail would not line up with the history`)
      if (!a) continue
      const truth = s.truth!
      const first = truth.split('+')[0]!
      const nth = run.perPerson.get(first) ?? 0
      run.perPerson.set(first, nth + 1)
      run.scored.push({ truth, nth, final: a.persons, open: undefined })
    }
  }
  let clock: EventClock | undefined
  for (const e of events) {
    let run = runs.get(e.account)
    if (!run) {
      run = { model: new Household(e.account), scored: [], perPerson: new Map() }
      runs.set(e.account, run)
    }
    collect(run, run.model.push(e))
    const s = run.model.sessionizer
    clock ??= new EventClock({ gapMs: s.gapMs, allowedLatenessMs: s.allowedLatenessMs, maxClockSkewMs: s.maxClockSkewMs })
    clock.observe(0, e.account, e.kind, e.ts, e.ts, 0)
    clock.fire(0, (account) => collect(runs.get(account)!, runs.get(account)!.model.expire()))
  }
  for (const run of runs.values()) collect(run, run.model.flush())
  const prequential: ScoredHousehold[] = []
  const offline: ScoredHousehold[] = []
  for (const run of runs.values()) {
    prequential.push({ account: run.model.account, k: run.model.persons.k, scored: run.scored })
    // every closed session here carries truth, so the history is the tail of the scored sessions
    const rows = run.model.historyRows()
    const tail = run.scored.slice(run.scored.length - rows.length)
    const labelled = tail.map((s, i): ScoredSession => {
      const person = rows[i]!.person ?? 'unknown'
      const final: PersonProbability[] = [{ person, p: 1 }]
      return { truth: s.truth, nth: s.nth, final, open: undefined }
    })
    offline.push({ account: run.model.account, k: run.model.persons.k, scored: labelled })
  }
  return { prequential, offline }
}
