// Runs the benchmarks by name (all by default), prints their tables and writes bench/results/*.json.
import { benchAttribution } from './attribution.js'
import { benchAttributionTruth } from './attribution-truth.js'
import { benchEngine } from './engine.js'
import { benchErasure } from './erasure.js'
import { benchExplain } from './explain.js'
import { benchHousehold } from './household.js'
import { benchIngress } from './ingress.js'
import { benchJourneys } from './journeys.js'
import { benchLanding } from './landing.js'
import { benchKernels } from './kernels.js'
import { benchPeers } from './peers.js'
import { benchPoolCrossover } from './pool-crossover.js'
import { benchRefit } from './refit.js'
import { benchSimulator } from './simulator.js'
import type { BenchContext } from './lib.js'

export const BENCHMARKS: Record<string, { question: string, run: (ctx: BenchContext) => Promise<string> }> = {
  kernels: { question: 'each kernel: WebAssembly vs its TypeScript twin, one session and a batch of 10,000', run: benchKernels },
  refit: { question: 'one household refit (300 × 26, K = 1..6 by BIC): wasm, pool, twin, scikit-learn', run: benchRefit },
  'pool-crossover': { question: 'from what batch size the worker pool beats inline work', run: benchPoolCrossover },
  explain: { question: 'the explanation each assignment carries: cached phrases against the Date-based original', run: benchExplain },
  ingress: { question: 'the ingress per message: one pass over the bytes against the three passes it replaced, one event and a batch of 100', run: benchIngress },
  household: { question: 'the household model per event (scoring vs refits, refits on the pool) and its resident bytes', run: benchHousehold },
  engine: { question: 'the engine in one process (in-process bus, ingress, actors, checkpoints) against a direct household replay', run: benchEngine },
  simulator: { question: 'events generated per second, and the Bayes oracle per session', run: benchSimulator },
  attribution: { question: '1,000,000 journeys over 12 channels: aggregation, Markov of order 1..3 with exact removal effects, Shapley, heuristics', run: benchAttribution },
  erasure: { question: 'time to erase one account, person or device among 100,000 households (stopped file, live runtime) and its messages in a JetStream stream', run: benchErasure },
  journeys: { question: 'journeys kept in the engine: the household replay with and without them, writing them to SQLite, and the attribution report over 1,000,000', run: benchJourneys },
  peers: { question: 'idr against per-household peers (latent-class EM, diagonal GMM by BIC, the most-active oracle) on idr\'s simulator and the alt-households tracks, offline and prequential', run: benchPeers },
  landing: { question: 'the landing path\'s extra hop: idr load with the raw JetStream input and with --landing, batches of 100, at fixed rates, and how long raw messages wait', run: benchLanding },
  'attribution-truth': { question: 'person-level against account-level attribution, against the simulator\'s counterfactual ground truth, per model, household size and difficulty', run: benchAttributionTruth },
}

export async function runBenchmarks(names: readonly string[], ctx: BenchContext): Promise<void> {
  const unknown = names.filter((n) => !(n in BENCHMARKS))
  if (unknown.length) throw new Error(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}`)
  for (const name of names.length ? names : Object.keys(BENCHMARKS)) {
    const b = BENCHMARKS[name]!
    ctx.log(`\n## ${name}: ${b.question}${ctx.quick ? ' (quick)' : ''}`)
    const table = await b.run(ctx)
    ctx.log(`\n${table}\n`)
  }
}
