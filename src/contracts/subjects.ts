// Subject names and NATS-style subject matching, shared by the transports (docs/subjects.md). Every subject
// idr builds from a value comes from here, and every such value passes the token rule first
// (src/contracts/token.ts): a builder throws rather than publish on a subject it did not mean.
import { inputSubject, KEYED_MIXED, MAX_PARTITION, parsePartitionToken } from './input-subject.js'
import { DEFAULT_PREFIX, isSubjectPrefix, subjectToken } from './token.js'

export { DEFAULT_PREFIX }
import { OptionError } from '../options/check.js'

export { inputSubject, KEYED_MIXED, type InputSubject } from './input-subject.js'

/** Subjects of one deployment, from its prefix (default 'idr'; checked: tokens of the rule joined by dots). */
export function subjects(prefix = DEFAULT_PREFIX) {
  if (!isSubjectPrefix(prefix)) throw new OptionError('prefix must be subject tokens of [A-Za-z0-9_-] (1–128 characters each) joined by dots')
  return {
    /** Where publishers send events: <prefix>.ev.<account>. */
    events: `${prefix}.ev.>`,
    /** The same events after the server's partition mapping: <prefix>.evp.<partition>.<account>. */
    mapped: `${prefix}.evp.>`,
    partition: (p: number) => `${prefix}.evp.${partitionToken(p)}.>`,
    /** One account's plain input subject: <prefix>.ev.<account>. */
    eventsOf: (account: string) => `${prefix}.ev.${subjectToken('account', account)}`,
    /** One account's events on its partition: <prefix>.evp.<p>.<account> (forwarding, stream scans). */
    mappedEvents: (p: number, account: string) => `${prefix}.evp.${partitionToken(p)}.${subjectToken('account', account)}`,
    assign: (account: string) => `${prefix}.out.assign.${subjectToken('account', account)}`,
    persons: (account: string) => `${prefix}.out.persons.${subjectToken('account', account)}`,
    /** Every account's assignments and persons changes (subscriptions). */
    allAssignments: `${prefix}.out.assign.>`,
    allPersons: `${prefix}.out.persons.>`,
    dlq: `${prefix}.dlq`,
    /** A partition's watermark record (docs/operations.md, "Event time"): in the stream, published by the engine only. */
    watermark: (p: number) => `${prefix}.evp.${partitionToken(p)}`,
    /** The keyed (pseudonymised) input the landing relay writes: <prefix>.evk.<partition>.<account> (docs/privacy.md, "The landing path"). */
    keyed: `${prefix}.evk.>`,
    /** One account's keyed events: <prefix>.evk.<p>.<account>, published by the relay only. */
    keyedEvents: (p: number, account: string) => `${prefix}.evk.${partitionToken(p)}.${subjectToken('account', account)}`,
    /** Keyed events of several accounts of partition p from one landing message: <prefix>.evk.<p>.mixed.accounts (the relay only). */
    keyedMixed: (p: number) => `${prefix}.evk.${partitionToken(p)}.${KEYED_MIXED}`,
    /** A partition's watermark record in the keyed stream: <prefix>.evk.<p>. */
    keyedWatermark: (p: number) => `${prefix}.evk.${partitionToken(p)}`,
    api: (verb: string) => `${prefix}.api.${verb}`,
  }
}

export type Subjects = ReturnType<typeof subjects>

function partitionToken(p: number): string {
  if (!Number.isInteger(p) || p < 0 || p > MAX_PARTITION) throw new OptionError(`partition must be an integer in [0, ${MAX_PARTITION}], got ${p}`)
  return String(p)
}

/** The partition named by a mapped subject <prefix>.evp.<p>.<account>, or undefined. */
export function mappedPartition(subject: string, prefix = DEFAULT_PREFIX): number | undefined {
  const s = inputSubject(subject, prefix)
  return s.kind === 'mapped' || s.kind === 'keyed' || s.kind === 'keyed-mixed' ? s.partition : undefined
}

/** The partition a watermark record's subject names (<prefix>.evp.<p> or <prefix>.evk.<p>, no account token), or undefined. */
export function watermarkPartition(subject: string, prefix = DEFAULT_PREFIX): number | undefined {
  for (const head of [`${prefix}.evp.`, `${prefix}.evk.`]) {
    if (subject.startsWith(head)) return subject.indexOf('.', head.length) >= 0 ? undefined : parsePartitionToken(subject.slice(head.length))
  }
  return undefined
}

/** Whether a subject matches a NATS pattern ('*' one token, '>' one or more trailing tokens). */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.')
  const s = subject.split('.')
  for (let i = 0; i < p.length; i++) {
    const t = p[i]!
    if (t === '>') return s.length > i
    if (i >= s.length) return false
    if (t !== '*' && t !== s[i]) return false
  }
  return p.length === s.length
}

/**
 * Whether every subject `filter` matches also matches `pattern` (both may hold wildcards): a stream over
 * `pattern` holds everything a consumer filtered to `filter` can ask for. 'idr.>' covers 'idr.evp.>';
 * 'idr.evp.*' does not ('>' in the filter stands for more than one token).
 */
export function subjectCovers(pattern: string, filter: string): boolean {
  const p = pattern.split('.')
  const f = filter.split('.')
  for (let i = 0; i < p.length; i++) {
    const t = p[i]!
    if (t === '>') return f.length > i
    const u = f[i]
    if (u === undefined || u === '>') return false
    if (t !== '*' && t !== u) return false
  }
  return p.length === f.length
}
