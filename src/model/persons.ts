// The people of one household: one diagonal Gaussian per person over standardised session features, with
// tempered (group-weighted) likelihoods, online updates between refits, and refits mapped back onto the
// existing person ids. No I/O; the kernels are called inline (one session is far below a pool round trip).
import type { Kernels } from '../kernels/backend.js'
import type { GaussianMixture } from '../kernels/gmm.js'
import { maxWeightAssignment } from './hungarian.js'

/** One person: a diagonal Gaussian in the standardised space of the last refit. */
export interface Person {
  readonly id: string
  /** Effective number of sessions (Σ responsibilities). */
  count: number
  readonly mean: Float64Array
  readonly variance: Float64Array
}

/** What a refit did to the household's persons, for the record. */
export type PersonChange =
  | { readonly type: 'appeared', readonly person: string }
  | { readonly type: 'kept', readonly person: string, readonly cost: number }
  | { readonly type: 'merged', readonly person: string, readonly into: string }
  | { readonly type: 'disappeared', readonly person: string }

export interface PersonModelOptions {
  /** Likelihood exponent per feature dimension (0 masks a dimension). */
  readonly dimWeights: Float64Array
  /** Smallest variance a person keeps in any dimension (standardised units). */
  readonly varianceFloor: number
  /** Mean weighted symmetric KL per dimension above which a refit component is a new person, not an old one. */
  readonly newPersonCost: number
}

/** Serializable state. */
export interface PersonModelState {
  readonly nextId: number
  readonly version: number
  readonly center: readonly number[]
  readonly scale: readonly number[]
  readonly persons: readonly { id: string, count: number, mean: readonly number[], variance: readonly number[] }[]
}

export class PersonModel {
  persons: Person[] = []
  /** Standardisation of the last refit: z = (x − center)/scale. */
  center: Float64Array
  scale: Float64Array
  /** Bumped by every refit. */
  version = 0
  private nextId = 1

  constructor(readonly dim: number, readonly options: PersonModelOptions) {
    this.center = new Float64Array(dim)
    this.scale = new Float64Array(dim).fill(1)
  }

  get k(): number {
    return this.persons.length
  }

  /** A new person id, never reused within the household. */
  newId(): string {
    return `p${this.nextId++}`
  }

  /** z = (x − center)/scale into out. */
  standardise(x: Float64Array, out: Float64Array): void {
    for (let t = 0; t < this.dim; t++) out[t] = (x[t]! - this.center[t]!) / this.scale[t]!
  }

  /**
   * ln p(z | person j) under the tempered diagonal Gaussian, with per-dimension weights w (dimWeights times a
   * mask), for every person, through the WebAssembly diagonal E-step on one point. out: k values.
   */
  logLikelihoods(kern: Kernels, z: Float64Array, w: Float64Array, out: Float64Array): void {
    const k = this.k
    const d = this.dim
    kern.arena.frame(() => {
      const a = kern.arena
      const means = a.alloc(k * d)
      const prec = a.alloc(k * d)
      const logDet = a.alloc(k)
      const logW = a.alloc(k)
      const mv = a.view(means, k * d)
      const pv = a.view(prec, k * d)
      const lv = a.view(logDet, k)
      for (let j = 0; j < k; j++) {
        const p = this.persons[j]!
        mv.set(p.mean, j * d)
        let ld = 0
        for (let t = 0; t < d; t++) {
          pv[j * d + t] = w[t]! / p.variance[t]!
          ld += w[t]! * Math.log(p.variance[t]!)
        }
        lv[j] = ld
      }
      a.view(logW, k).fill(0)
      const logResp = a.alloc(k)
      const logProb = a.alloc(1)
      kern.gmmEStepDiag(a.put(z), 1, d, k, logW, means, prec, logDet, logResp, logProb)
      // logResp_j = ll_j − LSE(ll) with equal weights: recover ll_j up to the shared constant
      const lse = a.view(logProb, 1)[0]!
      const lr = a.view(logResp, k)
      for (let j = 0; j < k; j++) out[j] = lr[j]! + lse
    })
  }

  /**
   * Online update with one session's responsibilities r (step r_j/n_j, Sculley's 1/(n+1) made soft):
   * n_j += r_j; μ_j += η(z − μ_j); σ²_j += η((z − μ_old)(z − μ_new) − σ²_j), floored.
   */
  update(z: Float64Array, r: Float64Array): void {
    const floor = this.options.varianceFloor
    for (let j = 0; j < this.k; j++) {
      const rj = r[j]!
      if (!(rj > 0)) continue
      const p = this.persons[j]!
      p.count += rj
      const eta = rj / p.count
      for (let t = 0; t < this.dim; t++) {
        const before = z[t]! - p.mean[t]!
        p.mean[t] = p.mean[t]! + eta * before
        const after = z[t]! - p.mean[t]!
        p.variance[t] = Math.max(floor, p.variance[t]! + eta * (before * after - p.variance[t]!))
      }
    }
  }

  /** Mixing weights n_j / Σ n. */
  weights(out: Float64Array): void {
    let total = 0
    for (const p of this.persons) total += p.count
    this.persons.forEach((p, j) => { out[j] = total > 0 ? p.count / total : 1 / this.k })
  }

  /**
   * Replaces the persons by a refit's components (fitted in the space center/scale), keeping ids: components
   * are matched to the old persons by the smallest weighted symmetric KL (Hungarian); a component matched to
   * nobody, or only at a cost above newPersonCost, is a new person; an old person matched to nobody merged into
   * its nearest component's person, or disappeared when it had no near component either.
   */
  applyRefit(fit: GaussianMixture, center: Float64Array, scale: Float64Array, sessions: number): PersonChange[] {
    const d = this.dim
    const k = fit.k
    const old = this.persons.map((p) => this.inSpace(p, center, scale))
    const cost = new Float64Array(k * old.length)
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < old.length; j++) {
        cost[i * old.length + j] = this.symmetricKl(fit.means, fit.covariances, i, old[j]!.mean, old[j]!.variance)
      }
    }
    const match = old.length > 0 ? maxWeightAssignment(cost.map((c) => -c), k, old.length) : new Int32Array(k).fill(-1)
    const changes: PersonChange[] = []
    const next: Person[] = []
    const taken = new Set<number>()
    for (let i = 0; i < k; i++) {
      const j = match[i]!
      const c = j >= 0 ? cost[i * old.length + j]! : Infinity
      const keep = j >= 0 && c <= this.options.newPersonCost
      const id = keep ? this.persons[j]!.id : this.newId()
      if (keep) taken.add(j)
      changes.push(keep ? { type: 'kept', person: id, cost: c } : { type: 'appeared', person: id })
      const variance = fit.covariances.slice(i * d, (i + 1) * d).map((v) => Math.max(v, this.options.varianceFloor))
      next.push({ id, count: fit.weights[i]! * sessions, mean: fit.means.slice(i * d, (i + 1) * d), variance })
    }
    old.forEach((_, j) => {
      if (taken.has(j)) return
      let best = -1
      for (let i = 0; i < k; i++) {
        if (best < 0 || cost[i * old.length + j]! < cost[best * old.length + j]!) best = i
      }
      const near = best >= 0 && cost[best * old.length + j]! <= this.options.newPersonCost
      changes.push(near
        ? { type: 'merged', person: this.persons[j]!.id, into: next[best]!.id }
        : { type: 'disappeared', person: this.persons[j]!.id })
    })
    this.persons = next
    this.center = center
    this.scale = scale
    this.version++
    return changes
  }

  toState(): PersonModelState {
    return {
      nextId: this.nextId, version: this.version, center: [...this.center], scale: [...this.scale],
      persons: this.persons.map((p) => ({ id: p.id, count: p.count, mean: [...p.mean], variance: [...p.variance] })),
    }
  }

  static fromState(dim: number, options: PersonModelOptions, s: PersonModelState): PersonModel {
    const m = new PersonModel(dim, options)
    m.nextId = s.nextId
    m.version = s.version
    m.center = Float64Array.from(s.center)
    m.scale = Float64Array.from(s.scale)
    m.persons = s.persons.map((p) => ({ id: p.id, count: p.count, mean: Float64Array.from(p.mean), variance: Float64Array.from(p.variance) }))
    return m
  }

  /** A person's Gaussian moved from this model's space into the space center/scale. */
  private inSpace(p: Person, center: Float64Array, scale: Float64Array): { mean: Float64Array, variance: Float64Array } {
    const mean = new Float64Array(this.dim)
    const variance = new Float64Array(this.dim)
    for (let t = 0; t < this.dim; t++) {
      const raw = p.mean[t]! * this.scale[t]! + this.center[t]!
      mean[t] = (raw - center[t]!) / scale[t]!
      const ratio = this.scale[t]! / scale[t]!
      variance[t] = p.variance[t]! * ratio * ratio
    }
    return { mean, variance }
  }

  /** Σ_t w_t · ½[KL(a‖b) + KL(b‖a)] per dimension, divided by Σ_t w_t (a per-dimension average). */
  private symmetricKl(means: Float64Array, vars: Float64Array, i: number, mean: Float64Array, variance: Float64Array): number {
    const w = this.options.dimWeights
    let s = 0
    let wsum = 0
    for (let t = 0; t < this.dim; t++) {
      const va = Math.max(vars[i * this.dim + t]!, this.options.varianceFloor)
      const vb = Math.max(variance[t]!, this.options.varianceFloor)
      const dm = means[i * this.dim + t]! - mean[t]!
      // ½[KL(a‖b) + KL(b‖a)] for 1-D Gaussians = ¼[(va + dm²)/vb + (vb + dm²)/va] − ½
      s += w[t]! * (0.25 * ((va + dm * dm) / vb + (vb + dm * dm) / va) - 0.5)
      wsum += w[t]!
    }
    return wsum > 0 ? s / wsum : 0
  }
}
