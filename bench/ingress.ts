// The ingress per message: the single pass (src/ingress/single-pass.ts) against the three passes it replaced,
// kept as its reference twin (scanMessage, @msgpack/msgpack, validateEvent), for one event and for a batch of
// 100; the reader alone and the whole Ingress.decode (subject, account binding, cached HMAC pseudonyms).
// Simulated events; the cases alternate in rounds within one run and the medians of the rounds are reported.
import { encode } from '@msgpack/msgpack'
import { Ingress, type IngressReader } from '../src/ingress/ingress.js'
import { ThreePassReader, type MessageReader } from '../src/ingress/read.js'
import { SinglePassReader } from '../src/ingress/single-pass.js'
import { simulate } from '../src/sim/simulator.js'
import { fmtUs, mdTable, measure, writeResult, type BenchContext, type Case } from './lib.js'

const KEY = 'bench-pseudonym-key-0123456789abcdef'
const BATCH = 100 // events per batch message, as bench/engine.ts and `idr load` send them
const SINGLES_PER_CALL = 100 // single-event messages per timed call, so the timer's own cost stays small
const PATHS: readonly IngressReader[] = ['three-pass', 'single-pass']

interface Shape { readonly name: string, readonly messages: readonly Uint8Array[], readonly subjects: readonly string[], readonly perCall: number, readonly eventsPerMessage: number }

export async function benchIngress(ctx: BenchContext): Promise<string> {
  const events = [...simulate({ households: ctx.quick ? 20 : 100, days: 14, seed: 1 }).events()]
  const singles = events.slice(0, 10_000)
  const batches: Uint8Array[] = []
  for (let i = 0; i + BATCH <= events.length && batches.length < 1_000; i += BATCH) batches.push(encode(events.slice(i, i + BATCH)))
  const shapes: Shape[] = [
    { name: 'one event', messages: singles.map((e) => encode(e)), subjects: singles.map((e) => `idr.ev.${e.account}`), perCall: SINGLES_PER_CALL, eventsPerMessage: 1 },
    { name: `batch of ${BATCH}`, messages: batches, subjects: batches.map(() => 'idr.ev.x'), perCall: 1, eventsPerMessage: BATCH },
  ]
  const cases: Case[] = []
  const labels: { shape: Shape, level: string, path: IngressReader }[] = []
  for (const shape of shapes) {
    for (const path of PATHS) {
      const reader: MessageReader = path === 'single-pass' ? new SinglePassReader(new Ingress({ pseudonymKey: KEY }).limits) : new ThreePassReader(new Ingress({ pseudonymKey: KEY }).limits)
      const ingress = new Ingress({ pseudonymKey: KEY }, path)
      let r = 0
      let d = 0
      let sink = 0
      // both paths must accept every message: a bench of a path that rejects is no bench
      for (let i = 0; i < shape.messages.length; i++) {
        const out = ingress.decode(shape.subjects[i]!, shape.messages[i]!, 0)
        if (out.events.length !== shape.eventsPerMessage) throw new Error(`${path} rejected a ${shape.name}: ${JSON.stringify(out.rejects[0])}`)
      }
      cases.push({
        name: `${shape.name}, reader, ${path}`, reps: shape.perCall,
        fn: () => {
          for (let k = 0; k < shape.perCall; k++) {
            sink += reader.read(shape.messages[r]!).elements.length
            r = (r + 1) % shape.messages.length
          }
          return sink
        },
      })
      labels.push({ shape, level: 'reader', path })
      cases.push({
        name: `${shape.name}, Ingress.decode, ${path}`, reps: shape.perCall,
        fn: () => {
          for (let k = 0; k < shape.perCall; k++) {
            sink += ingress.decode(shape.subjects[d]!, shape.messages[d]!, 0).events.length
            d = (d + 1) % shape.messages.length
          }
          return sink
        },
      })
      labels.push({ shape, level: 'Ingress.decode', path })
    }
  }
  const rounds = ctx.quick ? 2 : 5
  const us = cases.map((): number[] => [])
  for (let round = 0; round < rounds; round++) {
    // alternate the order too, so that neither path always runs first
    const order = round % 2 === 0 ? cases.map((_, i) => i) : cases.map((_, i) => i).reverse()
    const measured = await measure(ctx, order.map((i) => cases[i]!), 300)
    measured.forEach((m, j) => us[order[j]!]!.push(m.medianUs))
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const rows = labels.map((l, i) => {
    const twin = labels.findIndex((o) => o.shape === l.shape && o.level === l.level && o.path === 'three-pass')
    const m = median(us[i]!)
    return {
      message: l.shape.name, level: l.level, path: l.path, usPerMessage: m, nsPerEvent: (m * 1000) / l.shape.eventsPerMessage,
      ofThreePass: m / median(us[twin]!), rounds: us[i]!.length, roundMediansUs: us[i]!,
    }
  })
  writeResult('ingress', { singleMessages: shapes[0]!.messages.length, batchMessages: batches.length, batch: BATCH, rows })
  return mdTable(['message', 'stage', 'path', 'per message (median)', 'per event', '× three-pass'],
    rows.map((r) => [r.message, r.level, r.path, fmtUs(r.usPerMessage), fmtUs(r.nsPerEvent / 1000), r.ofThreePass.toFixed(2)]))
}
