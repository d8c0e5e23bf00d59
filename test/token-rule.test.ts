// The token rule: one check for every value that can become part of a subject, in the validator (BAD_ACCOUNT),
// in the subject parser (BAD_SUBJECT) and in the subject builders (they throw, never return a subject).
import { encode } from '@msgpack/msgpack'
import { describe, expect, it } from 'vitest'
import { Ingress } from '../src/ingress/ingress.js'
import { inputSubject } from '../src/contracts/input-subject.js'
import { isToken, SubjectError, TOKEN_MAX_LENGTH } from '../src/contracts/token.js'
import { EventError, validateEvent } from '../src/model/events.js'
import { checkRequest } from '../src/privacy/erase.js'
import { subjects } from '../src/contracts/subjects.js'
import { INJECTION, NAMED_BAD_ACCOUNTS } from './helpers/injection.js'

const BAD = [...NAMED_BAD_ACCOUNTS, 'tab\there', 'nul\u0000', 'é', 'acct\u2028', '', 'x'.repeat(TOKEN_MAX_LENGTH + 1), 'a b', '.lead', 'trail.']
const GOOD = ['acct-42', 'A_b-9', 'x'.repeat(TOKEN_MAX_LENGTH), '0', '-', '_']

const play = { v: 1, id: 'e1', ts: Date.UTC(2026, 0, 5, 20), account: 'acct-1', device: 'tv-1', kind: 'play', deviceType: 'tv', content: 'c1' }

describe('the token rule', () => {
  it('accepts 1–128 characters of letters, digits, _ and - and nothing else', () => {
    for (const s of GOOD) expect(isToken(s), s).toBe(true)
    for (const s of BAD) expect(isToken(s), JSON.stringify(s)).toBe(false)
    expect(INJECTION.length).toBe(89)
  })

  it('rejects every bad account in the validator with BAD_ACCOUNT on field account', () => {
    for (const account of BAD.filter((s) => s !== '')) {
      let err: unknown
      try {
        validateEvent({ ...play, account })
      } catch (e) {
        err = e
      }
      expect(err, JSON.stringify(account)).toBeInstanceOf(EventError)
      expect((err as EventError).code).toBe('BAD_ACCOUNT')
      expect((err as EventError).field).toBe('account')
      // the message says what is wrong without echoing the value (it may hold protocol lines)
      expect((err as EventError).message).not.toContain('\r')
      expect((err as EventError).message).not.toContain('PUB')
    }
  })

  it('refuses to build an output subject from a bad token, and builds one from a good token', () => {
    const s = subjects('idr')
    for (const account of BAD) {
      expect(() => s.assign(account)).toThrow(SubjectError)
      expect(() => s.persons(account)).toThrow(SubjectError)
      expect(() => s.mappedEvents(3, account)).toThrow(SubjectError)
      expect(() => s.eventsOf(account)).toThrow(SubjectError)
    }
    expect(s.assign('acct-42')).toBe('idr.out.assign.acct-42')
    expect(s.mappedEvents(3, 'acct-42')).toBe('idr.evp.3.acct-42')
    expect(() => subjects('idr..x')).toThrow(/prefix/)
    expect(() => subjects('idr >')).toThrow(/prefix/)
  })

  it('parses input subjects and refuses those whose account token breaks the rule', () => {
    expect(inputSubject('idr.ev.acct-1')).toEqual({ kind: 'plain', account: 'acct-1' })
    expect(inputSubject('idr.evp.7.acct-1')).toEqual({ kind: 'mapped', partition: 7, account: 'acct-1' })
    for (const s of ['idr.ev.a.b', 'idr.ev.', 'idr.evp.07.a', 'idr.evp.x.a', 'idr.evp.3', 'idr.evp.3.a.b', 'other.ev.a', 'idr.ev.é', 'idr.evp.99999.a']) {
      expect(inputSubject(s).kind, s).toBe('bad')
    }
    expect(inputSubject('tenant-a.idr.ev.acct-1', 'tenant-a.idr')).toEqual({ kind: 'plain', account: 'acct-1' })
  })

  it('takes request accounts and persons through the rule', () => {
    expect(() => checkRequest({ account: 'a.b' })).toThrow(expect.objectContaining({ code: 'BAD_ACCOUNT' }))
    expect(() => checkRequest({ account: INJECTION })).toThrow(expect.objectContaining({ code: 'BAD_ACCOUNT' }))
    expect(() => checkRequest({ account: 'acct-1', person: 'p 1' })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }))
    expect(checkRequest({ account: 'acct-1', person: 'p2' })).toEqual({ account: 'acct-1', person: 'p2' })
    // a device id is pseudonymised before use and never reaches a subject: it keeps the event schema's rule
    expect(checkRequest({ account: 'acct-1', device: 'AA:BB {tv}' })).toEqual({ account: 'acct-1', device: 'AA:BB {tv}' })
  })
})

describe('the subject binds the account', () => {
  const ingress = (accountBinding?: 'single' | 'strict') => new Ingress({ pseudonymKey: 'test-key-0123456789abcdef', ...(accountBinding ? { accountBinding } : {}) })

  it('dead-letters a message on a subject whose account token breaks the rule as BAD_SUBJECT, without decoding it', () => {
    const r = ingress().decode('idr.ev.a.b', encode(play), 0)
    expect(r.events).toEqual([])
    expect(r.rejects).toMatchObject([{ code: 'BAD_SUBJECT', bytes: encode(play).byteLength }])
    expect(r.rejects[0]!.sha256).toMatch(/^[0-9a-f]{64}$/)
  })

  it('refuses a single event that names another account than its subject as ACCOUNT_MISMATCH', () => {
    const r = ingress().decode('idr.ev.acct-2', encode(play), 0)
    expect(r.events).toEqual([])
    expect(r.rejects).toMatchObject([{ code: 'ACCOUNT_MISMATCH', field: 'account', eventId: 'e1' }])
    expect(ingress().decode('idr.evp.5.acct-1', encode(play), 0).events).toHaveLength(1)
  })

  it('lets a batch mix accounts by default, and refuses the others under strict binding', () => {
    const batch = encode([play, { ...play, id: 'e2', account: 'acct-2' }, { ...play, id: 'e3' }])
    expect(ingress().decode('idr.ev.acct-1', batch, 0).events.map((e) => e.account)).toEqual(['acct-1', 'acct-2', 'acct-1'])
    const strict = ingress('strict').decode('idr.ev.acct-1', batch, 0)
    expect(strict.events.map((e) => e.id)).toEqual(['e1', 'e3'])
    expect(strict.rejects).toMatchObject([{ code: 'ACCOUNT_MISMATCH', index: 1, eventId: 'e2' }])
  })

  it('routes each valid event: applied ones pseudonymised, the others counted as not ours', () => {
    const batch = encode([play, { ...play, id: 'e2', account: 'acct-2' }, { ...play, id: 'e3', account: 'acct-3' }])
    const r = ingress().decode('idr.ev.acct-1', batch, 0, (e) => (e.account === 'acct-1' ? 'apply' : 'skip'))
    expect(r.events.map((e) => e.id)).toEqual(['e1'])
    expect(r.events[0]!.device).toMatch(/^d_/)
    expect(r.skipped).toBe(2)
  })
})

describe('smaller findings of the outside test', () => {
  const ingress = new Ingress({ pseudonymKey: 'test-key-0123456789abcdef' })

  it('says what v must be when it is the string "1"', () => {
    expect(() => validateEvent({ ...play, v: '1' })).toThrow('v is a string: v must be the number 1')
  })

  it('dead-letters a batch header that claims more events than bytes follow as BAD_MSGPACK, not TOO_MANY_EVENTS', () => {
    // array32 of 100,000 elements with 3 bytes after it: over maxEventsPerMessage and truncated; truncation wins
    const r = ingress.decode('idr.ev.acct-1', Uint8Array.from([0xdd, 0x00, 0x01, 0x86, 0xa0, 0xc0, 0xc0, 0xc0]), 0)
    expect(r.rejects.map((x) => x.code)).toEqual(['BAD_MSGPACK'])
    // a string header that claims 10,000 bytes in a 6-byte message: truncated, not LIMIT_EXCEEDED
    expect(ingress.decode('idr.ev.acct-1', Uint8Array.from([0x81, 0xda, 0x27, 0x10, 0x61, 0x62]), 0).rejects.map((x) => x.code)).toEqual(['BAD_MSGPACK'])
  })

  it('gives NOT_AN_OBJECT records no field rather than an empty one', () => {
    const r = ingress.decode('idr.ev.acct-1', encode([null]), 0)
    expect(r.rejects).toHaveLength(1)
    expect(r.rejects[0]!.code).toBe('NOT_AN_OBJECT')
    expect(r.rejects[0]).not.toHaveProperty('field')
  })
})
