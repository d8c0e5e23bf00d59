// Which of an account's stored raw messages an erasure deletes (docs/privacy.md, "Which events are whose"):
// - an account: every message on its subject;
// - a device: every message holding an event of that device (its pseudonym, under any key epoch);
// - a person: the account's events are sessionized again as the engine does; a message goes when it holds
//   an event of a session whose most probable person, under the household's persons just before the
//   erasure, is that person, or a touch or conversion on a device during (or at most the session gap after)
//   such a session.
// A message is deleted whole: events of others batched into it lose their raw copy (they were applied
// already and stay in the derived state).
import type { IdrEvent } from '../model/events.js'
import type { Household, HouseholdOptions } from '../model/household.js'
import { Sessionizer, type Session, type SessionUpdate } from '../model/sessionizer.js'

export type StreamRule = 'all' | { readonly devices: ReadonlySet<string> } | { readonly person: string, readonly household: Household | undefined }

/** The stream sequences of the messages the rule selects, ascending. */
export async function streamSeqsOf(
  messages: AsyncIterable<{ readonly seq: number, readonly events: readonly IdrEvent[] }>,
  rule: StreamRule,
  account: string,
  options: HouseholdOptions,
): Promise<number[]> {
  const out: number[] = []
  if (rule === 'all' || 'devices' in rule) {
    for await (const m of messages) {
      if (rule === 'all' || m.events.some((e) => e.account === account && rule.devices.has(e.device))) out.push(m.seq)
    }
    return out
  }
  const h = rule.household
  if (!h || !h.persons.ids.includes(rule.person)) return out
  const sessionizer = new Sessionizer(account, options.sessionizer)
  const seqsOf = new Map<string, number[]>() // session id → its messages
  const lastOn = new Map<string, { id: string, lastTs: number }>() // device → its latest session
  const touches: { seq: number, session: string }[] = []
  const theirs = new Set<string>()
  const judge = (updates: SessionUpdate[], seq: number): void => {
    for (const u of updates) {
      if (u.type === 'rejected') continue
      if (u.type === 'close') {
        if (isTheirs(h, u.session, rule.person)) theirs.add(u.session.id)
        continue
      }
      const list = seqsOf.get(u.session.id) ?? []
      if (list.at(-1) !== seq) list.push(seq)
      seqsOf.set(u.session.id, list)
      lastOn.set(u.session.device, { id: u.session.id, lastTs: u.session.lastTs })
    }
  }
  for await (const m of messages) {
    for (const e of m.events) {
      if (e.account !== account) continue
      if (e.kind === 'touch' || e.kind === 'convert') {
        const s = lastOn.get(e.device)
        if (s && e.ts - s.lastTs <= sessionizer.gapMs) touches.push({ seq: m.seq, session: s.id })
        continue
      }
      judge(sessionizer.push(e), m.seq)
    }
  }
  judge(sessionizer.flush(), 0)
  const selected = new Set<number>()
  for (const id of theirs) for (const seq of seqsOf.get(id) ?? []) selected.add(seq)
  for (const t of touches) if (theirs.has(t.session)) selected.add(t.seq)
  return [...selected].sort((a, b) => a - b)
}

function isTheirs(h: Household, s: Session, person: string): boolean {
  return h.score(s, true)[0]?.person === person
}
