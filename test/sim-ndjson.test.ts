// NDJSON files of events: a written stream reads back identical; a bad line is reported with its line
// number and code while the lines around it are read.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { IdrEvent } from '../src/model/events.js'
import { NdjsonError, readEventsNdjson, writeEventsNdjson } from '../src/sim/ndjson.js'
import { simulate } from '../src/sim/simulator.js'

const dirs: string[] = []
function tempFile(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'idr-ndjson-'))
  dirs.push(dir)
  return join(dir, name)
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

async function readAll(path: string): Promise<{ events: IdrEvent[], errors: readonly NdjsonError[] }> {
  const reader = readEventsNdjson(path)
  const events: IdrEvent[] = []
  for await (const e of reader) events.push(e)
  return { events, errors: reader.errors }
}

describe('NDJSON event files', () => {
  it('reads back exactly the events written', async () => {
    const sim = simulate({ households: 30, days: 5 })
    const path = tempFile('events.ndjson')
    expect(await writeEventsNdjson(sim.events(), path)).toBe(sim.eventCount)
    const text = readFileSync(path, 'utf8')
    expect(text.endsWith('\n')).toBe(true)
    expect(text.split('\n').length - 1).toBe(sim.eventCount)
    const { events, errors } = await readAll(path)
    expect(errors).toEqual([])
    expect(events).toEqual([...sim.events()])
  })

  it('reports a bad line with its number and code, and still reads the others', async () => {
    const [a, b, c] = [...simulate({ households: 1, days: 2 }).events()].slice(0, 3).map((e) => JSON.stringify(e))
    const path = tempFile('mixed.ndjson')
    const noTs = JSON.stringify({ ...JSON.parse(b!), ts: undefined })
    writeFileSync(path, [a, '{"v":1, "id": oops', c, '', noTs, '[1,2]', b].join('\r\n') + '\r\n')
    const { events, errors } = await readAll(path)
    expect(events.map((e) => JSON.stringify(e))).toEqual([a, c, b])
    expect(errors.map((e) => [e.line, e.code, e.field])).toEqual([[2, 'BAD_JSON', ''], [5, 'MISSING_FIELD', 'ts'], [6, 'NOT_AN_OBJECT', '']])
    expect(errors[0]).toBeInstanceOf(NdjsonError)
    expect(errors[0]!.message).toContain('mixed.ndjson:2')
  })

  it('fails on a file that does not exist', async () => {
    await expect(readAll(join(tmpdir(), 'idr-no-such-dir', 'x.ndjson'))).rejects.toMatchObject({ code: 'ENOENT' })
  })
})
