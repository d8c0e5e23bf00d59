// Prequential evaluation of the household model: every session's final assignment is scored when it is
// made (before the model learns from that session), per household under the best one-to-one mapping of
// predicted to true persons. Metric definitions: docs/metrics.md; the procedure: docs/model.md.
import { IdrError } from '../errors.js'
import type { IdrEvent } from '../model/events.js'
import { EventClock } from '../runtime/event-time.js'
import { Account, type AccountOptions } from '../account/account.js'
import { UNKNOWN_PERSON, type HouseholdOutput, type PersonProbability } from '../model/household.js'
import { fitDetection, type Detection, type SizeObservation } from '../model/unseen.js'
import type { RejectReason } from '../model/sessionizer.js'
import { adjustedRandIndex, bestMappingAccuracy, normalizedMutualInfo } from './metrics-clustering.js'
import {
  brierScore, coverageAt, expectedCalibrationError, negativeLogLikelihood, reliabilityDiagram, topLabel,
  type ReliabilityBin,
} from './metrics-probability.js'

/** "After n sessions of that person" buckets of accuracyBySessions. */
export const SESSION_BUCKETS = [1, 3, 5, 10, 20, 50] as const

export interface EvalReport {
  households: number
  sessions: number
  coViewingSessions: number
  events: number
  eventsPerSec: number
  accuracy: number
  accuracyMacro: number
  /** Oracle accuracy (simulator input only), else null. */
  ceiling: number | null
  accuracyToCeiling: number | null
  ari: number
  nmi: number
  kExact: number
  kMae: number
  /** Share of true one-person households the model keeps as one person (null when there are none). */
  singleNotSplit: number | null
  brier: number
  nll: number
  ece: number
  coverageAt085: number
  accuracyAt085: number
  /** Accuracy of sessions that are a person's n-th or later (up to the next bucket). Keys: "0", "1", "3", ... */
  accuracyBySessions: Record<string, number | null>
  baselineDominant: number
  /** Open-stage (provisional) accuracy under the same mapping. */
  accuracyAtOpen: number
  reliability: ReliabilityBin[]
}

/** One session's scored assignment. */
export interface ScoredSession {
  truth: string
  /** Index of this session among its (first) true person's sessions in the household. */
  nth: number
  final: readonly PersonProbability[]
  open: readonly PersonProbability[] | undefined
}

/** A household's scored sessions (in the order they closed) and the number of persons its model ended with. */
export interface ScoredHousehold {
  readonly account: string
  readonly k: number
  readonly scored: readonly ScoredSession[]
}

interface HouseholdRun {
  /** The account's model (its journey ledger takes the marketing events, as in the engine). */
  model: Account
  scored: ScoredSession[]
  opens: Map<string, readonly PersonProbability[]>
  perPerson: Map<string, number>
  /** Persons identified at every 5th close (truth or not): fitUnseen's observations. */
  sizes: SizeObservation[]
  closes: number
}

export interface EvaluateOptions {
  household?: AccountOptions
  ceiling?: number | null
  trueSizes?: ReadonlyMap<string, number>
  /** Close every household's open sessions at the end of the events and score them too. Default true. */
  flush?: boolean
}

/** What the model set aside rather than scored: a user evaluating their own file must see it. */
export interface EventsIgnored {
  /** Events the sessionizer rejected, by reason (a duplicate id, behind the watermark, ahead of the clock, …). */
  readonly rejected: Readonly<Record<RejectReason, number>>
  /** Closed sessions without `truth`: assigned, but not scored. */
  readonly sessionsWithoutTruth: number
}

/** An evaluation of events: the scores and what was not scored. */
export interface EventEvaluation extends EvalReport {
  ignored: EventsIgnored
}

/** Runs the model over events (any order the sessionizer accepts) and scores it. */
export function evaluateEvents(events: Iterable<IdrEvent>, options: EvaluateOptions = {}): EventEvaluation {
  const { runs, count, seconds, ignored } = runModel(events, options.household, options.flush ?? true)
  return { ...scoreHouseholds(runs.map(scoredOf), count, seconds, options.ceiling ?? null, options.trueSizes), ignored }
}

function scoredOf(run: HouseholdRun): ScoredHousehold {
  return { account: run.model.account, k: run.model.household.persons.k, scored: run.scored }
}

/** Temperature grid searched by fitTemperature: 0.5 … 20, 40 log-spaced values. */
const TEMPERATURE_GRID = Array.from({ length: 40 }, (_, i) => 0.5 * 40 ** (i / 39))

/**
 * Temperature scaling (Guo et al. 2017) of the model's final probabilities: runs the model once with the
 * given options, then re-tempers its probabilities by each factor of a grid (exact: p^(1/f) renormalised is
 * the softmax of the scores at temperature T·f) and keeps the factor with the lowest ECE. Returns the
 * resulting temperature (options' T × factor).
 */
export function fitTemperature(events: Iterable<IdrEvent>, household: AccountOptions = {}): { temperature: number, ece: number, eceBefore: number } {
  const { runs: models, count, seconds } = runModel(events, household)
  const runs = models.map(scoredOf)
  const base = household.temperature ?? 1
  const eceBefore = scoreHouseholds(runs, count, seconds, null).ece
  let best = { temperature: base, ece: eceBefore, eceBefore }
  for (const f of TEMPERATURE_GRID) {
    const ece = scoreHouseholds(runs, count, seconds, null, undefined, f).ece
    if (ece < best.ece) best = { temperature: base * f, ece, eceBefore }
  }
  return best
}

/** Every how many closes fitUnseen takes a household's size: spread over its life, so long histories do not dominate. */
const SIZE_EVERY = 5

/**
 * The unseen mass's detection curve fitted on these households (./unseen.ts fitDetection): unsupervised, it
 * reads only how many persons the model identified after how many sessions. Truth is neither needed nor used.
 */
export function fitUnseen(events: Iterable<IdrEvent>, household: AccountOptions = {}, prior?: readonly number[]): { detection: Detection, observations: number } {
  const { runs } = runModel(events, household)
  const observations = runs.flatMap((r) => r.sizes)
  return { detection: fitDetection(observations, prior).detection, observations: observations.length }
}

function runModel(events: Iterable<IdrEvent>, household: AccountOptions | undefined, flush = true): { runs: HouseholdRun[], count: number, seconds: number, ignored: EventsIgnored } {
  const runs = new Map<string, HouseholdRun>()
  let count = 0
  const rejected: Record<RejectReason, number> = { duplicate: 0, late: 0, 'clock-ahead': 0, 'not-playback': 0 }
  let sessionsWithoutTruth = 0
  const t0 = performance.now()
  const collect = (run: HouseholdRun, out: HouseholdOutput) => {
    for (const r of out.rejected) rejected[r.reason as RejectReason] = (rejected[r.reason as RejectReason] ?? 0) + 1
    for (const a of out.assignments) {
      if (a.stage === 'open') run.opens.set(a.session, a.persons)
      else if (a.stage === 'close' && run.closes++ % SIZE_EVERY === 0) run.sizes.push({ k: a.persons.filter((q) => q.person !== UNKNOWN_PERSON).length, n: run.closes - 1 })
    }
    for (const s of out.closed) {
      const a = out.assignments.find((x) => x.stage === 'close' && x.session === s.id)
      if (a && s.truth === undefined) sessionsWithoutTruth++
      if (!a || s.truth === undefined) continue
      const first = s.truth.split('+')[0]!
      const nth = run.perPerson.get(first) ?? 0
      run.perPerson.set(first, nth + 1)
      run.scored.push({ truth: s.truth, nth, final: a.persons, open: run.opens.get(s.id) })
      run.opens.delete(s.id)
    }
  }
  // the engine's event-time timers, one partition, an event per message: quiet accounts' sessions close as the
  // engine closes them (src/runtime/event-time.ts), so the engine's demo and this replay score the same sessions
  let clock: EventClock | undefined
  for (const e of events) {
    count++
    let run = runs.get(e.account)
    if (!run) {
      run = { model: new Account(e.account, household), scored: [], opens: new Map(), perPerson: new Map(), sizes: [], closes: 0 }
      runs.set(e.account, run)
    }
    collect(run, run.model.push(e))
    const s = run.model.household.sessionizer
    clock ??= new EventClock({ gapMs: s.gapMs, allowedLatenessMs: s.allowedLatenessMs, maxClockSkewMs: s.maxClockSkewMs })
    clock.observe(0, e.account, e.kind, e.ts, e.ts, 0)
    clock.fire(0, (account) => collect(runs.get(account)!, runs.get(account)!.model.expire()))
  }
  if (flush) for (const run of runs.values()) collect(run, run.model.flush())
  return { runs: [...runs.values()], count, seconds: (performance.now() - t0) / 1000, ignored: { rejected, sessionsWithoutTruth } }
}

/**
 * Columns of the calibration rows: true persons (the simulators make ≤ 6 per household), found persons that
 * match none (one each; beyond the 8th they share the last), then unknown.
 */
const MAX_TRUE = 8
const MAX_UNMATCHED = 8

/** The probabilities at temperature factor f: p^(1/f), renormalised. */
function retemper(ps: readonly PersonProbability[], f: number): readonly PersonProbability[] {
  if (f === 1) return ps
  const w = ps.map((q) => q.p ** (1 / f))
  const sum = w.reduce((a, b) => a + b, 0)
  return ps.map((q, i) => ({ person: q.person, p: w[i]! / sum }))
}

/**
 * Scores households' sessions (from the model run here, or from an engine's assignments): accuracy under each
 * household's best one-to-one mapping, calibration, size. `factor` re-tempers the probabilities (fitTemperature).
 */
export function scoreHouseholds(runs: readonly ScoredHousehold[], events: number, seconds: number, ceiling: number | null, trueSizes?: ReadonlyMap<string, number>, factor = 1): EvalReport {
  let sessions = 0
  let coViewing = 0
  let correct = 0
  let correctOpen = 0
  let macro = 0
  let macroN = 0
  let ariSum = 0
  let nmiSum = 0
  let pairN = 0
  let kExact = 0
  let kErr = 0
  let singles = 0
  let singlesKept = 0
  let dominant = 0
  const buckets = [0, ...SESSION_BUCKETS]
  const byBucket = buckets.map(() => ({ right: 0, n: 0 }))
  const probsAll: number[] = []
  const truthAll: number[] = []
  const widthAll = MAX_TRUE + MAX_UNMATCHED + 1 // true persons, found persons matching none, unknown: rows padded to a fixed width
  for (const run of runs) {
    if (run.scored.length === 0) continue
    const trueIds = [...new Set(run.scored.flatMap((s) => s.truth.split('+')))].sort()
    const predIds = [...new Set(run.scored.flatMap((s) => [...s.final, ...(s.open ?? [])].map((q) => q.person)))].sort()
    const tIndex = new Map(trueIds.map((t, i) => [t, i]))
    const pIndex = new Map(predIds.map((p, i) => [p, i]))
    const single = run.scored.filter((s) => !s.truth.includes('+'))
    const predTop = single.map((s) => pIndex.get(s.final[0]!.person)!)
    const truthIdx = single.map((s) => tIndex.get(s.truth)!)
    const kTrue = trueSizes?.get(run.account) ?? trueIds.length
    const kPred = run.k
    kExact += kPred === kTrue ? 1 : 0
    kErr += Math.abs(kPred - kTrue)
    if (kTrue === 1) {
      singles++
      singlesKept += kPred <= 1 ? 1 : 0
    }
    const counts = new Map<string, number>()
    for (const s of single) counts.set(s.truth, (counts.get(s.truth) ?? 0) + 1)
    dominant += Math.max(0, ...counts.values())
    if (single.length === 0) continue
    const mapping = bestMappingAccuracy(predTop, truthIdx, { predLabels: predIds.map((_, i) => i), trueLabels: trueIds.map((_, i) => i) })
    const toTrue = (person: string): number => mapping.predToTrue[pIndex.get(person)!]!
    let hh = 0
    for (const s of run.scored) {
      const truths = s.truth.split('+').map((t) => tIndex.get(t)!)
      const ok = truths.includes(toTrue(s.final[0]!.person))
      const okOpen = s.open !== undefined && truths.includes(toTrue(s.open[0]!.person))
      hh += ok ? 1 : 0
      correctOpen += okOpen ? 1 : 0
      if (s.truth.includes('+')) coViewing++
      const b = buckets.findLastIndex((lo) => s.nth >= lo)
      byBucket[b]!.n++
      byBucket[b]!.right += ok ? 1 : 0
    }
    correct += hh
    sessions += run.scored.length
    macro += hh / run.scored.length
    macroN++
    if (single.length > 1) {
      ariSum += adjustedRandIndex(predTop, truthIdx) * single.length
      nmiSum += normalizedMutualInfo(predTop, truthIdx) * single.length
      pairN += single.length
    }
    // calibration over single-person sessions, each probability on its own column: a found person's on the true
    // person it maps to, or on a column of its own when it maps to nobody (always wrong); the unseen mass
    // ('unknown': a member not found yet) on the truth's column when no found person maps to the truth, else on
    // a column of its own (wrong)
    if (trueIds.length > MAX_TRUE) throw new IdrError('BAD_INPUT', `a household with ${trueIds.length} true persons: the scorer takes at most ${MAX_TRUE}`)
    const unmatched = predIds.map((p, j) => (p !== UNKNOWN_PERSON && mapping.predToTrue[j] === -1 ? j : -1)).filter((j) => j >= 0)
    const found = new Set(predIds.map((p, j) => (p === UNKNOWN_PERSON ? -1 : mapping.predToTrue[j]!)).filter((t) => t >= 0))
    const unknownColumn = MAX_TRUE + MAX_UNMATCHED
    single.forEach((s, i) => {
      const row = new Array<number>(widthAll).fill(0)
      for (const q of retemper(s.final, factor)) {
        const j = pIndex.get(q.person)!
        if (q.person === UNKNOWN_PERSON) row[found.has(truthIdx[i]!) ? unknownColumn : truthIdx[i]!]! += q.p
        else if (mapping.predToTrue[j]! >= 0) row[mapping.predToTrue[j]!]! += q.p
        else row[MAX_TRUE + Math.min(unmatched.indexOf(j), MAX_UNMATCHED - 1)]! += q.p
      }
      probsAll.push(...row)
      truthAll.push(truthIdx[i]!)
    })
  }
  const n = truthAll.length
  const top = topLabel(probsAll, n, widthAll, truthAll)
  // summed mapped probabilities can exceed 1 by an ulp
  for (let i = 0; i < n; i++) top.confidence[i] = Math.min(1, top.confidence[i]!)
  const cov = coverageAt(top.confidence, top.correct, 0.85)
  const accuracy = sessions > 0 ? correct / sessions : 0
  const bySessions: Record<string, number | null> = {}
  buckets.forEach((lo, i) => { bySessions[String(lo)] = byBucket[i]!.n > 0 ? byBucket[i]!.right / byBucket[i]!.n : null })
  const singleSessions = truthAll.length
  return {
    households: runs.length,
    sessions,
    coViewingSessions: coViewing,
    events,
    eventsPerSec: events / Math.max(seconds, 1e-9),
    accuracy,
    accuracyMacro: macroN > 0 ? macro / macroN : 0,
    ceiling,
    accuracyToCeiling: ceiling ? accuracy / ceiling : null,
    ari: pairN > 0 ? ariSum / pairN : 1,
    nmi: pairN > 0 ? nmiSum / pairN : 1,
    kExact: runs.length > 0 ? kExact / runs.length : 0,
    kMae: runs.length > 0 ? kErr / runs.length : 0,
    singleNotSplit: singles > 0 ? singlesKept / singles : null,
    brier: brierScore(probsAll, n, widthAll, truthAll),
    nll: negativeLogLikelihood(probsAll, n, widthAll, truthAll),
    ece: expectedCalibrationError(top.confidence, top.correct, 15),
    coverageAt085: cov.coverage,
    accuracyAt085: cov.accuracy,
    accuracyBySessions: bySessions,
    baselineDominant: singleSessions > 0 ? dominant / singleSessions : 0,
    accuracyAtOpen: sessions > 0 ? correctOpen / sessions : 0,
    reliability: reliabilityDiagram(top.confidence, top.correct, 15),
  }
}
