// Subject names and NATS-style subject matching, shared by the transports (docs/subjects.md).

/** Subjects of one deployment, from its prefix (default 'idr'). */
export function subjects(prefix = 'idr') {
  return {
    /** Where publishers send events: <prefix>.ev.<account>. */
    events: `${prefix}.ev.>`,
    /** The same events after the server's partition mapping: <prefix>.evp.<partition>.<account>. */
    mapped: `${prefix}.evp.>`,
    partition: (p: number) => `${prefix}.evp.${p}.>`,
    assign: (account: string) => `${prefix}.out.assign.${account}`,
    persons: (account: string) => `${prefix}.out.persons.${account}`,
    dlq: `${prefix}.dlq`,
    api: (verb: string) => `${prefix}.api.${verb}`,
  }
}

/** The partition named by a mapped subject <prefix>.evp.<p>.<account>, or undefined. */
export function mappedPartition(subject: string, prefix = 'idr'): number | undefined {
  const head = `${prefix}.evp.`
  if (!subject.startsWith(head)) return undefined
  const dot = subject.indexOf('.', head.length)
  const p = Number(subject.slice(head.length, dot < 0 ? undefined : dot))
  return Number.isInteger(p) && p >= 0 ? p : undefined
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
