// A household refit as a self-contained task: what the worker needs (the encoded history, the current
// persons' responsibilities on it, the options) and what comes back (the new persons' statistics and how
// many sessions each shares with each old person). The same function runs inline and on the pool, so the
// result is bit-identical wherever it ran (docs/model.md, "Refits and determinism").
import { defaultKernels, type Kernels } from '../kernels/backend.js'
import { KernelOps } from '../kernels/ops.js'
import { Mixture, VOCAB, type Encoded, type MixtureOptions } from './mixture.js'
import { refineMixture, selectMixture, type SelectOptions } from './mixture-fit.js'

export interface RefitTask {
  readonly account: string
  /** Closed sessions when it was triggered (identifies the refit). */
  readonly seq: number
  readonly n: number
  readonly slot: Int32Array
  readonly w: Float64Array
  readonly dur: Float64Array
  /** n × kOld responsibilities of the current persons. */
  readonly current: Float64Array
  readonly kOld: number
  /** Search k = 1 … kMax from scratch (else refine the current persons). */
  readonly full: boolean
  readonly mixture: MixtureOptions
  readonly select: SelectOptions
}

export interface RefitResult {
  readonly account: string
  readonly seq: number
  readonly k: number
  /** The new persons' statistics (Mixture's counts, n, durW, durS, durQ). */
  readonly counts: Float64Array
  readonly n: Float64Array
  readonly dur: Float64Array
  /** kOld × k: Σ_i r_old(i, a)·r_new(i, b). */
  readonly overlap: Float64Array
  readonly candidates: readonly { k: number, bic: number, logLik: number, eligible: boolean }[]
}

/** Buffers of a task that can be transferred to a worker instead of copied. */
export function transferables(t: RefitTask): ArrayBuffer[] {
  return [t.slot.buffer, t.w.buffer, t.dur.buffer, t.current.buffer] as ArrayBuffer[]
}

let threadOps: KernelOps | undefined

/** Runs a refit (on this thread's WebAssembly kernels unless others are given). */
export function runRefit(t: RefitTask, kernels?: Kernels): RefitResult {
  const ops = kernels ? new KernelOps(kernels) : (threadOps ??= new KernelOps(defaultKernels()))
  const e: Encoded = { n: t.n, slot: t.slot, w: t.w, dur: t.dur }
  const sel = t.full || t.kOld === 0
    ? selectMixture(ops, e, t.mixture, t.select)
    : refineMixture(ops, e, t.mixture, t.select, t.current, t.kOld)
  const m = sel.best.mixture
  const k = m.k
  const overlap = new Float64Array(t.kOld * k)
  const resp = sel.best.resp
  for (let i = 0; i < t.n; i++) {
    for (let a = 0; a < t.kOld; a++) {
      const ra = t.current[i * t.kOld + a]!
      for (let b = 0; b < k; b++) overlap[a * k + b]! += ra * resp[i * k + b]!
    }
  }
  const dur = new Float64Array(3 * k)
  dur.set(m.durW, 0)
  dur.set(m.durS, k)
  dur.set(m.durQ, 2 * k)
  return { account: t.account, seq: t.seq, k, counts: m.counts, n: m.n, dur, overlap, candidates: sel.candidates }
}

/** The mixture a result describes. */
export function resultMixture(r: RefitResult, options: MixtureOptions): Mixture {
  const m = new Mixture(r.k, options)
  m.counts.set(r.counts.subarray(0, r.k * VOCAB))
  m.n.set(r.n.subarray(0, r.k))
  m.durW.set(r.dur.subarray(0, r.k))
  m.durS.set(r.dur.subarray(r.k, 2 * r.k))
  m.durQ.set(r.dur.subarray(2 * r.k, 3 * r.k))
  m.refresh()
  return m
}
