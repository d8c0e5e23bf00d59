// createEmbedded: plain event objects in, plain assignments and dead letters out, on a real SQLite file;
// and a missing key is named as such.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createEmbedded } from '../src/engine/embedded.js'
import type { DlqRecord } from '../src/ingress/ingress.js'
import type { Assignment } from '../src/model/household.js'
import { MemoryStore } from '../src/runtime/memory-store.js'
import { openStore } from '../src/store/sqlite-store.js'
import { TEST_KEY } from './helpers/engine.js'

const dirs: string[] = []
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }) })

describe('the embedded engine', () => {
  it('takes plain events and gives plain assignments and dead letters', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idr-embedded-'))
    dirs.push(dir)
    const store = openStore(join(dir, 'idr.db'))
    const idr = createEmbedded({ store, pseudonymKey: TEST_KEY })
    const assignments: Assignment[] = []
    const dead: DlqRecord[] = []
    idr.onAssignment((a) => assignments.push(a))
    idr.onDeadLetter((r) => dead.push(r))
    await idr.start()
    const t0 = Date.now() - 3_600_000
    const tv = { v: 1, account: 'acct-1', device: 'tv-1', deviceType: 'tv', content: 'c1', genres: ['drama'] }
    await idr.push({ ...tv, id: 'e1', kind: 'play', ts: t0 })
    await idr.push([{ ...tv, id: 'e2', kind: 'stop', ts: t0 + 600_000 }, { ...tv, id: 'e3', kind: 'play', ts: t0 + 1_200_000 }, { ...tv, id: 'bad', kind: 'play', ts: t0, account: 'a b' }])
    await idr.push([])
    await idr.drain()
    expect(assignments.map((a) => [a.stage, a.session])).toEqual([['open', 'acct-1#1'], ['close', 'acct-1#1'], ['open', 'acct-1#2']])
    expect(assignments[0]!.persons.reduce((n, p) => n + p.p, 0)).toBeCloseTo(1, 12)
    expect(assignments[0]!.device).toMatch(/^d_/) // pseudonymised, as on the bus
    expect(dead.map((r) => [r.code, r.eventId])).toEqual([['BAD_ACCOUNT', 'bad']])
    expect(idr.stats()).toMatchObject({ eventsApplied: 3, eventsRejected: 1 })
    store.close()
  })

  it('names the missing key and where it usually comes from', () => {
    expect(() => createEmbedded({ store: new MemoryStore(), pseudonymKey: undefined as unknown as string })).toThrow(/pseudonymKey is required.*IDR_PSEUDONYM_KEY/)
  })
})
