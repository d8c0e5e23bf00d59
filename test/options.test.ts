// One option checker (src/options/check.ts): every constructor refuses an unknown or bad option with the same
// OptionError (code BAD_OPTION), naming the nearest known option, whichever layer it belongs to.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Engine } from '../src/engine/engine.js'
import { KernelError } from '../src/errors.js'
import { Household } from '../src/model/household.js'
import { OptionError } from '../src/options/check.js'
import { MemoryStore } from '../src/runtime/memory-store.js'
import { accountRuntime } from '../src/engine/account-handler.js'
import { simulate } from '../src/sim/simulator.js'
import { openStore } from '../src/store/sqlite-store.js'
import { InProcessBus } from '../src/transport/in-process.js'
import { NatsBus } from '../src/transport/nats.js'
import { TEST_KEY } from './helpers/engine.js'

const dir = mkdtempSync(join(tmpdir(), 'idr-options-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The error fn throws (or rejects with). */
async function thrown(fn: () => unknown): Promise<unknown> {
  try {
    await fn()
  } catch (e) {
    return e
  }
  throw new Error('expected a refusal')
}

describe('one option checker', () => {
  const sink = { output() {} }
  const cases: [string, () => unknown, RegExp][] = [
    ['Engine name', () => new Engine({ bus: new InProcessBus(), store: new MemoryStore(), pseudonymKey: TEST_KEY, maxResidnt: 5 } as never), /unknown option "maxResidnt" \(did you mean "maxResident"\?\)/],
    ['Engine range', () => new Engine({ bus: new InProcessBus(), store: new MemoryStore(), pseudonymKey: TEST_KEY, idlePartitionMs: 0 }), /idlePartitionMs must be a positive integer/],
    ['runtime range', () => accountRuntime({ store: new MemoryStore(), sink, maxResident: 0 }), /maxResident must be a positive integer/],
    ['household name', () => new Household('a', { sessionizer: { gapMS: 5 } } as never), /did you mean "gapMs"/],
    ['store name', () => openStore(join(dir, 'a.db'), { durabilty: 'full' } as never), /did you mean "durability"/],
    ['simulator name', () => simulate({ househods: 3 } as never), /did you mean "households"/],
    // names are checked before any connection is tried: the unreachable URL never matters
    ['bus name', () => NatsBus.connect({ url: 'nats://127.0.0.1:1', mode: 'core', partitions: [0], partitionsOf: 1, mappd: true } as never), /did you mean "mapped"\?/],
  ]
  for (const [what, fn, message] of cases) {
    it(`refuses a bad option with OptionError: ${what}`, async () => {
      const e = await thrown(fn)
      expect(e).toBeInstanceOf(OptionError)
      expect(e).not.toBeInstanceOf(KernelError) // a bad maxResident is not a kernel's error
      expect((e as OptionError).code).toBe('BAD_OPTION')
      expect((e as Error).message).toMatch(message)
    })
  }
})
