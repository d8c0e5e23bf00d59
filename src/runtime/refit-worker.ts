// Piscina worker for household refits: runs runRefit on this thread's WebAssembly kernels. The result is a
// few kilobytes and is copied back. Runs from build/ (compiled JavaScript).
import { runRefit, type RefitResult, type RefitTask } from '../model/refit.js'

export default function refit(task: RefitTask): RefitResult {
  return runRefit(task)
}
