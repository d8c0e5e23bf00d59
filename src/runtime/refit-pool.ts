// Household refits on a Piscina worker pool, so that model selection does not hold up the event path of
// other households. The worker runs the same runRefit as the inline path: results are bit-identical.
import { availableParallelism } from 'node:os'
import { Piscina } from 'piscina'
import { IdrError } from '../errors.js'
import { checkOptionNames, positiveInt } from '../options/check.js'
import { builtFile } from '../paths.js'
import { transferables, type RefitResult, type RefitTask } from '../model/refit.js'

export interface RefitPoolOptions {
  /** Worker threads. Default: the machine's available parallelism. */
  threads?: number
}

export class RefitPool {
  readonly threads: number
  private readonly piscina: Piscina<RefitTask, RefitResult>
  private closed = false

  constructor(options: RefitPoolOptions = {}) {
    checkOptionNames('RefitPool', options, ['threads'])
    this.threads = options.threads ?? availableParallelism()
    positiveInt('threads', this.threads)
    this.piscina = new Piscina({ filename: workerFile(), minThreads: this.threads, maxThreads: this.threads, idleTimeout: 30_000 })
  }

  /** Runs one refit on a worker; the task's buffers are transferred (the task is unusable afterwards). */
  run(task: RefitTask): Promise<RefitResult> {
    if (this.closed) return Promise.reject(new IdrError('POOL_CLOSED', 'RefitPool is closed'))
    return this.piscina.run(task, { transferList: transferables(task) })
  }

  /** Graceful stop: waits for running refits, then ends the workers. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.piscina.close()
  }
}

/** The compiled worker (Piscina loads JavaScript, also when this module runs from src/ under vitest). */
function workerFile(): string {
  return builtFile('src/runtime/refit-worker.js')
}
