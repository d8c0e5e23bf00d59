// Input subjects as the ingress reads them: <prefix>.ev.<account> (plain) or <prefix>.evp.<p>.<account>
// (after the server's partition mapping), the account token checked by the token rule (./token.ts).
import { DEFAULT_PREFIX, isToken, tokenProblem } from './token.js'

/** Highest partition index a mapped subject may name (serve's --of is at most 1,024). */
export const MAX_PARTITION = 1023
const PARTITION_TOKEN = /^(0|[1-9][0-9]{0,3})$/

/** A subject token naming a partition (a plain decimal up to MAX_PARTITION), or undefined. */
export function parsePartitionToken(token: string): number | undefined {
  return PARTITION_TOKEN.test(token) && Number(token) <= MAX_PARTITION ? Number(token) : undefined
}

/**
 * What an input subject says: <prefix>.ev.<account> (plain) or <prefix>.evp.<p>.<account> (mapped), its
 * account token checked by the token rule; or why it is not an input subject idr accepts.
 */
export type InputSubject =
  | { readonly kind: 'plain', readonly account: string }
  | { readonly kind: 'mapped', readonly partition: number, readonly account: string }
  | { readonly kind: 'bad', readonly problem: string }

/** Parses an input subject (the account token must pass the token rule; a mapped partition is a plain decimal). */
export function inputSubject(subject: string, prefix = DEFAULT_PREFIX): InputSubject {
  const plain = `${prefix}.ev.`
  const mapped = `${prefix}.evp.`
  let rest: string
  let partition: number | undefined
  if (subject.startsWith(plain)) {
    rest = subject.slice(plain.length)
  } else if (subject.startsWith(mapped)) {
    const dot = subject.indexOf('.', mapped.length)
    const p = subject.slice(mapped.length, dot < 0 ? subject.length : dot)
    const n = dot < 0 ? undefined : parsePartitionToken(p)
    if (n === undefined) return { kind: 'bad', problem: `a mapped subject is ${prefix}.evp.<partition>.<account>` }
    partition = n
    rest = subject.slice(dot + 1)
  } else {
    return { kind: 'bad', problem: `input subjects are ${prefix}.ev.<account> or ${prefix}.evp.<partition>.<account>` }
  }
  if (!isToken(rest)) {
    const t: string = rest
    return { kind: 'bad', problem: `the subject's account token ${t.includes('.') ? 'holds more than one token' : tokenProblem(t)}` }
  }
  return partition === undefined ? { kind: 'plain', account: rest } : { kind: 'mapped', partition, account: rest }
}
