// Input subjects as the ingress reads them: <prefix>.ev.<account> (plain), <prefix>.evp.<p>.<account>
// (after the server's partition mapping) or <prefix>.evk.<p>.<account> and <prefix>.evk.<p>.mixed.accounts
// (keyed: what the landing relay wrote, already pseudonymised), the account token checked by the token rule (./token.ts).
import { DEFAULT_PREFIX, isToken, tokenProblem } from './token.js'

/** The two tokens after <prefix>.evk.<p> of a keyed message holding several accounts' events (no account subject has five tokens). */
export const KEYED_MIXED = 'mixed.accounts'

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
  | { readonly kind: 'keyed', readonly partition: number, readonly account: string }
  | { readonly kind: 'keyed-mixed', readonly partition: number }
  | { readonly kind: 'bad', readonly problem: string }

/** Parses an input subject (the account token must pass the token rule; a mapped partition is a plain decimal). */
export function inputSubject(subject: string, prefix = DEFAULT_PREFIX): InputSubject {
  const plain = `${prefix}.ev.`
  const mapped = `${prefix}.evp.`
  const keyed = `${prefix}.evk.`
  let rest: string
  let partition: number | undefined
  let isKeyed = false
  if (subject.startsWith(plain)) {
    rest = subject.slice(plain.length)
  } else if (subject.startsWith(mapped) || subject.startsWith(keyed)) {
    const head = subject.startsWith(mapped) ? mapped : keyed
    const dot = subject.indexOf('.', head.length)
    const p = subject.slice(head.length, dot < 0 ? subject.length : dot)
    const n = dot < 0 ? undefined : parsePartitionToken(p)
    if (n === undefined) return { kind: 'bad', problem: `a ${head === mapped ? 'mapped' : 'keyed'} subject is ${head}<partition>.<account>` }
    partition = n
    rest = subject.slice(dot + 1)
    isKeyed = head === keyed
    if (isKeyed && rest === KEYED_MIXED) return { kind: 'keyed-mixed', partition }
  } else {
    return { kind: 'bad', problem: `input subjects are ${prefix}.ev.<account>, ${prefix}.evp.<partition>.<account> or ${prefix}.evk.<partition>.<account>` }
  }
  if (!isToken(rest)) {
    const t: string = rest
    return { kind: 'bad', problem: `the subject's account token ${t.includes('.') ? 'holds more than one token' : tokenProblem(t)}` }
  }
  if (partition === undefined) return { kind: 'plain', account: rest }
  return { kind: isKeyed ? 'keyed' : 'mapped', partition, account: rest }
}
