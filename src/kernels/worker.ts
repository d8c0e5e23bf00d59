// Piscina worker: instantiates the WebAssembly kernels once per thread (on first task) and runs batches of
// GMM model selections. Runs from build/ (compiled JavaScript).
import { defaultKernels } from './backend.js'
import { selectGmm } from './gmm.js'
import { settle } from './pool.js'
import type { GmmBatchTask, GmmJobResult } from './protocol.js'

export default function runGmmBatch(task: GmmBatchTask): GmmJobResult[] {
  const kern = defaultKernels()
  return task.jobs.map((job): GmmJobResult => {
    const data = task.points.subarray(job.offset, job.offset + job.rows * job.cols)
    return settle(() => selectGmm(kern, { rows: job.rows, cols: job.cols, data }, job.options))
  })
}
