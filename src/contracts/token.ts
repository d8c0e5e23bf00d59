// The token rule (docs/security.md): the one check every value from outside passes before it can become part
// of a NATS subject. nats.js writes `PUB <subject> <len>\r\n` without looking at the characters, so a subject
// token holding a space or CR/LF becomes protocol lines on the engine's own connection, and one holding '.',
// '*' or '>' names other subjects or wildcards. A token is therefore 1–128 characters of [A-Za-z0-9_-]:
// ASCII only (no look-alike or multi-byte forms), nothing NATS treats specially, the same bytes in every
// client language, and exactly one subject token.
import { IdrError } from '../errors.js'

/** The subject prefix when none is configured (`--prefix`, options.prefix): one token of the rule. */
export const DEFAULT_PREFIX = 'idr'

/** Longest token, characters (= bytes: the rule is ASCII). */
export const TOKEN_MAX_LENGTH = 128
/** What a token may hold, as a regular expression (documentation and error messages). */
export const TOKEN_PATTERN = '[A-Za-z0-9_-]{1,128}'
const TOKEN = /^[A-Za-z0-9_-]{1,128}$/

/** A subject prefix: tokens of the rule separated by single dots (the operator's `--prefix`). */
export const SUBJECT_PREFIX = /^[A-Za-z0-9_-]{1,128}(\.[A-Za-z0-9_-]{1,128}){0,7}$/

/** Whether s may be one subject token (an account above all). */
export function isToken(s: unknown): s is string {
  return typeof s === 'string' && TOKEN.test(s)
}

/** Why a string is not a token, for error messages; never echoes the value (it may hold anything). */
export function tokenProblem(s: string): string {
  if (s.length === 0) return 'is empty'
  if (s.length > TOKEN_MAX_LENGTH) return `is ${s.length} characters, at most ${TOKEN_MAX_LENGTH}`
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2d)) {
      const shown = c >= 0x21 && c <= 0x7e ? `'${String.fromCharCode(c)}'` : `U+${c.toString(16).toUpperCase().padStart(4, '0')}`
      return `holds ${shown} at position ${i}; only ${TOKEN_PATTERN} is allowed`
    }
  }
  return 'is not a token'
}

/** A subject was to be built from a value that breaks the token rule: nothing is published. */
export class SubjectError extends IdrError {
  declare readonly code: 'BAD_SUBJECT_TOKEN'
  constructor(message: string) {
    super('BAD_SUBJECT_TOKEN', message)
  }
}

/** Returns s if it is a token; throws SubjectError naming `what` otherwise (defence in depth at subject building). */
export function subjectToken(what: string, s: string): string {
  if (isToken(s)) return s
  throw new SubjectError(`${what} ${typeof s === 'string' ? tokenProblem(s) : `must be a string, got ${typeof s}`}: it cannot be part of a subject`)
}

/** Whether s is a subject prefix: 1–8 tokens of the rule joined by dots. */
export function isSubjectPrefix(s: unknown): s is string {
  return typeof s === 'string' && SUBJECT_PREFIX.test(s)
}
