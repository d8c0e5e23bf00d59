// GMM model selection for many households, inline on the calling thread when the work is small and on a
// Piscina worker pool when it is large. The line between the two is measured (bench/pool-crossover.ts,
// docs/benchmarks.md), not guessed: see POOL_MIN_WORK.
import { availableParallelism } from 'node:os'
import { Piscina } from 'piscina'
import { IdrError, KernelError, type KernelErrorCode } from '../errors.js'
import { builtFile } from '../paths.js'
import { defaultKernels, type Kernels } from './backend.js'
import { GMM_DEFAULTS, selectGmm, type CovarianceType, type GmmSelectOptions, type GmmSelection } from './gmm.js'
import type { GmmBatchTask, GmmJobResult, PackedGmmJob } from './protocol.js'
import { checkMatrix, type Matrix } from './validate.js'
import { checkOptionNames, positiveInt, OptionError } from '../options/check.js'

/**
 * Work (in units of gmmWork) below which a batch runs inline: under it, a pool round trip costs more than
 * it saves. Measured on the 2-core reference machine by bench/pool-crossover.ts; see docs/benchmarks.md.
 */
export const POOL_MIN_WORK = 100_000

/**
 * Cost proxy of one household's model selection: floating-point work of one EM iteration summed over
 * K = kMin..kMax and the inits. Per component: n·d(d+3)/2 for the Mahalanobis terms and covariance update
 * plus d³/3 for its Cholesky factor and inverse (full covariance), or n·2d + d (diagonal).
 */
export function gmmWork(rows: number, cols: number, options: GmmSelectOptions = {}): number {
  const o = { ...GMM_DEFAULTS, ...options }
  const full = (o.covariance as CovarianceType) === 'full'
  const perComponent = full ? (rows * cols * (cols + 3)) / 2 + cols ** 3 / 3 : rows * 2 * cols + cols
  const kMax = Math.min(o.kMax, rows)
  let ks = 0
  for (let k = o.kMin; k <= kMax; k++) ks += k
  return o.nInit * ks * perComponent
}

export interface GmmJob {
  readonly points: Matrix
  readonly options?: GmmSelectOptions
}

export interface GmmPoolOptions {
  /** Worker threads. Default: the machine's available parallelism. */
  threads?: number
  /** Batches with less total work than this run inline. Default POOL_MIN_WORK; 0 sends everything to the pool; Infinity never uses it. */
  poolMinWork?: number
  /** Kernels used for inline work. Default: this thread's WebAssembly kernels. */
  kernels?: Kernels
}

const POOL_OPTION_NAMES = ['threads', 'poolMinWork', 'kernels']

/** Where a batch ran: inline (and the work it had), or on the pool in how many tasks. */
export type Placement = { readonly where: 'inline', readonly work: number } | { readonly where: 'pool', readonly work: number, readonly tasks: number }

export class GmmPool {
  readonly threads: number
  readonly poolMinWork: number
  private readonly kernels: Kernels
  private piscina: Piscina<GmmBatchTask, GmmJobResult[]> | undefined
  private state: { phase: 'open' } | { phase: 'closing' } | { phase: 'closed' } = { phase: 'open' }
  /** How the last batch was placed (for tests and metrics). */
  lastPlacement: Placement | undefined

  constructor(options: GmmPoolOptions = {}) {
    checkOptionNames('GmmPool', options, POOL_OPTION_NAMES)
    this.threads = options.threads ?? availableParallelism()
    positiveInt('threads', this.threads)
    this.poolMinWork = options.poolMinWork ?? POOL_MIN_WORK
    if (!(this.poolMinWork >= 0)) throw new OptionError(`poolMinWork must be ≥ 0, got ${this.poolMinWork}`)
    this.kernels = options.kernels ?? defaultKernels()
  }

  /** Model selection for one household (inline or pooled by its size). */
  async select(points: Matrix, options?: GmmSelectOptions): Promise<GmmSelection> {
    const [one] = await this.selectMany([{ points, ...(options ? { options } : {}) }])
    return one!
  }

  /**
   * Model selection for many households, results in job order. Rejects with the first failing job's
   * KernelError once every job has run; selectManySettled keeps the others' results.
   */
  async selectMany(jobs: readonly GmmJob[]): Promise<GmmSelection[]> {
    const results = await this.selectManySettled(jobs)
    const failed = results.find((r) => !r.ok)
    if (failed && !failed.ok) throw new KernelError(failed.code as KernelErrorCode, failed.message)
    return results.map((r) => (r as { selection: GmmSelection }).selection)
  }

  /**
   * Per-job outcomes. Batches with less work than poolMinWork run inline, synchronously; larger ones are
   * packed into at most two tasks per thread (households kept whole, order kept) and transferred to the workers.
   */
  async selectManySettled(jobs: readonly GmmJob[]): Promise<GmmJobResult[]> {
    if (this.state.phase !== 'open') throw new KernelError('BAD_OPTION', `GmmPool is ${this.state.phase}`)
    for (const job of jobs) checkMatrix('points', job.points)
    const works = jobs.map((j) => gmmWork(j.points.rows, j.points.cols, j.options))
    const total = works.reduce((a, b) => a + b, 0)
    if (total < this.poolMinWork || jobs.length === 0) {
      this.lastPlacement = { where: 'inline', work: total }
      return jobs.map((j) => settle(() => selectGmm(this.kernels, j.points, j.options)))
    }
    const groups = packGroups(works, total / (2 * this.threads))
    this.lastPlacement = { where: 'pool', work: total, tasks: groups.length }
    const pool = this.ensurePool()
    const results = await Promise.all(groups.map((g) => {
      const task = packTask(g.map((i) => jobs[i]!))
      return pool.run(task, { transferList: [task.points.buffer as ArrayBuffer] })
    }))
    return results.flat()
  }

  /** Graceful stop: waits for running tasks, then ends the workers. */
  async close(): Promise<void> {
    if (this.state.phase !== 'open') return
    this.state = { phase: 'closing' }
    await this.piscina?.close()
    this.state = { phase: 'closed' }
  }

  /** Forced stop: running tasks are abandoned and their promises reject. */
  async destroy(): Promise<void> {
    this.state = { phase: 'closed' }
    await this.piscina?.destroy()
  }

  private ensurePool(): Piscina<GmmBatchTask, GmmJobResult[]> {
    this.piscina ??= new Piscina({
      filename: workerFile(),
      minThreads: this.threads,
      maxThreads: this.threads,
      idleTimeout: 30_000,
    })
    return this.piscina
  }
}

/** The compiled worker (Piscina loads JavaScript, also when this module runs from src/ under vitest). */
function workerFile(): string {
  return builtFile('src/kernels/worker.js')
}

/** Consecutive jobs grouped until each group's work reaches target (order kept, so results come back in order). */
function packGroups(works: readonly number[], target: number): number[][] {
  const groups: number[][] = []
  let cur: number[] = []
  let acc = 0
  works.forEach((w, i) => {
    cur.push(i)
    acc += w
    if (acc >= target) {
      groups.push(cur)
      cur = []
      acc = 0
    }
  })
  if (cur.length) groups.push(cur)
  return groups
}

/** Runs one job, turning an IdrError into a failed result (anything else is a bug and propagates). */
export function settle(fn: () => GmmSelection): GmmJobResult {
  try {
    return { ok: true, selection: fn() }
  } catch (e) {
    if (e instanceof IdrError) return { ok: false, code: e.code, message: e.message }
    throw e
  }
}

function packTask(jobs: readonly GmmJob[]): GmmBatchTask {
  const size = jobs.reduce((s, j) => s + j.points.data.length, 0)
  const points = new Float64Array(size)
  const packed: PackedGmmJob[] = []
  let offset = 0
  for (const j of jobs) {
    points.set(j.points.data, offset)
    packed.push({ rows: j.points.rows, cols: j.points.cols, offset, options: j.options ?? {} })
    offset += j.points.data.length
  }
  return { points, jobs: packed }
}
