// Keyed pseudonyms for raw device identifiers and IP addresses: HMAC-SHA256 under a secret key from the
// configuration (IDR_PSEUDONYM_KEY), never from the database, so a stolen database cannot be reversed by
// hashing guessed identifiers. Device and IP pseudonyms come from separate subkeys (domain separation):
// the same string as a device and as an IP gives unrelated pseudonyms. A key belongs to an epoch (1, 2, …;
// src/privacy/keyring.ts rotates them): epoch 1 keeps the original form `d_…`, a later epoch n writes `dn_…`,
// so a stored pseudonym names its epoch without the key (docs/key-rotation.md).
import { createHmac } from 'node:crypto'
import { IdrError } from '../errors.js'
import { OptionError } from '../options/check.js'

/** Shortest accepted key, in bytes (a string key counts its UTF-8 bytes): 128 bits. */
export const PSEUDONYM_KEY_MIN_BYTES = 16
/** Cached raw → pseudonym pairs per domain (least recently used dropped first, a half at a time); ≈ 250 B each at 128-char ids. */
export const DEFAULT_PSEUDONYM_CACHE_ENTRIES = 65_536
/** HMAC output bytes kept: 128 bits, so collisions need ~2^64 distinct identifiers. */
export const PSEUDONYM_BYTES = 16
/** Highest key epoch: six digits in a pseudonym's prefix at most. */
export const MAX_KEY_EPOCH = 999_999

/** What a raw value identifies; each domain has its own subkey and prefix. */
export type PseudonymDomain = 'device' | 'ip' | 'account'

// account pseudonyms name erased accounts in tombstones and audit records, where the account token itself must not stay
const TAG: Record<PseudonymDomain, string> = { device: 'd', ip: 'ip', account: 'a' }
// epoch 1 has no digits (the form from before rotation existed); epoch n ≥ 2 is written in decimal, no leading zero
const EPOCH_DIGITS = '[2-9]|[1-9][0-9]{1,5}' // 2..MAX_KEY_EPOCH
const BODY = '_[A-Za-z0-9_-]{22}' // base64url of PSEUDONYM_BYTES, unpadded
const ANY_PSEUDONYM = new RegExp(`^(d|ip|a)(${EPOCH_DIGITS})?${BODY}$`)

/** The prefix of `domain`'s pseudonyms under a key of `epoch`: `d_`, `ip_`, `a_` for epoch 1, `d2_`, `ip2_`, `a2_` for epoch 2, … */
export function pseudonymPrefix(domain: PseudonymDomain, epoch: number): string {
  return `${TAG[domain]}${epoch === 1 ? '' : epoch}_`
}

/** Matches a pseudonym of `domain` under any epoch (`d_` / `d2_` / … and 22 base64url characters). */
export function pseudonymPattern(domain: PseudonymDomain): RegExp {
  return new RegExp(`^${TAG[domain]}(?:${EPOCH_DIGITS})?${BODY}$`)
}

/** The domain and key epoch a pseudonym was made under, read from its prefix; undefined for anything else. */
export function parsePseudonym(p: string): { domain: PseudonymDomain, epoch: number } | undefined {
  const m = ANY_PSEUDONYM.exec(p)
  if (!m) return undefined
  const domain = (Object.keys(TAG) as PseudonymDomain[]).find((d) => TAG[d] === m[1])!
  return { domain, epoch: m[2] === undefined ? 1 : Number(m[2]) }
}

/** Why a pseudonymiser or key ring could not be built, or a store's key epoch refused. */
export type PrivacyErrorCode = 'BAD_KEY' | 'BAD_OPTION' | 'BAD_KEY_RING' | 'BAD_KEY_EPOCH' | 'KEY_EPOCH_REGRESSED'

/** A privacy component was configured wrongly (e.g. a key that is too short). */
export class PrivacyError extends IdrError {
  declare readonly code: PrivacyErrorCode
  constructor(code: PrivacyErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
  }
}

/** Options of a Pseudonymiser. */
export interface PseudonymiserOptions {
  /** Cache capacity per domain, entries (0 disables the cache). */
  cacheEntries?: number
  /** The key's epoch, an integer in 1..MAX_KEY_EPOCH. Default 1 (pseudonyms `d_…`, as before rotation existed). */
  epoch?: number
}

/** Maps raw identifiers to stable pseudonyms `d_…` / `ip_…` (22 base64url chars; `d2_…` under epoch 2) under one secret key. */
export class Pseudonymiser {
  /** The key's epoch; it is written into every pseudonym's prefix (none for epoch 1). */
  readonly epoch: number
  readonly #subkeys: Record<PseudonymDomain, Buffer>
  readonly #prefix: Record<PseudonymDomain, string>
  readonly #caches: Record<PseudonymDomain, GenerationCache>

  constructor(key: string | Uint8Array, options: PseudonymiserOptions = {}) {
    if (typeof key !== 'string' && !(key instanceof Uint8Array)) {
      throw new PrivacyError('BAD_KEY', `the pseudonym key must be a string or bytes, got ${key === null ? 'null' : typeof key}`)
    }
    const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key)
    if (bytes.length < PSEUDONYM_KEY_MIN_BYTES) {
      throw new PrivacyError('BAD_KEY', `the pseudonym key has ${bytes.length} bytes, at least ${PSEUDONYM_KEY_MIN_BYTES} are needed (set IDR_PSEUDONYM_KEY to ≥ 32 random characters)`)
    }
    for (const name of Object.keys(options)) {
      if (name !== 'cacheEntries' && name !== 'epoch') throw new OptionError(`Pseudonymiser: unknown option "${name}"`)
    }
    const capacity = options.cacheEntries ?? DEFAULT_PSEUDONYM_CACHE_ENTRIES
    if (!Number.isInteger(capacity) || capacity < 0) {
      throw new OptionError(`cacheEntries must be an integer ≥ 0 (entries), got ${capacity}`)
    }
    const epoch = options.epoch ?? 1
    if (!Number.isSafeInteger(epoch) || epoch < 1 || epoch > MAX_KEY_EPOCH) {
      throw new OptionError(`epoch must be an integer in 1..${MAX_KEY_EPOCH}, got ${String(epoch)}`)
    }
    this.epoch = epoch
    this.#prefix = { device: pseudonymPrefix('device', epoch), ip: pseudonymPrefix('ip', epoch), account: pseudonymPrefix('account', epoch) }
    // Subkeys derived once; the master key itself is not kept. Epoch 1 keeps the original label; later epochs
    // bind their number too, so even a key reused across epochs gives unrelated pseudonyms.
    const label = (d: PseudonymDomain): string => (epoch === 1 ? `idr/pseudonym/v1/${d}` : `idr/pseudonym/v1/${d}/epoch/${epoch}`)
    const sub = (d: PseudonymDomain): Buffer => createHmac('sha256', bytes).update(label(d)).digest()
    this.#subkeys = { device: sub('device'), ip: sub('ip'), account: sub('account') }
    bytes.fill(0)
    // accounts are pseudonymised only for tombstones and audit records (rarely): no cache
    this.#caches = { device: new GenerationCache(capacity), ip: new GenerationCache(capacity), account: new GenerationCache(0) }
  }

  /** The pseudonym of a raw device identifier. */
  device(raw: string): string {
    return this.pseudonym('device', raw)
  }

  /** The pseudonym of an account token (`a_…`), for tombstones and audit records of erased accounts. */
  account(raw: string): string {
    return this.pseudonym('account', raw)
  }

  /** The pseudonym of a raw IP address. */
  ip(raw: string): string {
    return this.pseudonym('ip', raw)
  }

  /** The pseudonym of `raw` in `domain`: prefix (with the epoch) + base64url of the first 16 bytes of HMAC-SHA256(subkey, raw). */
  pseudonym(domain: PseudonymDomain, raw: string): string {
    const cache = this.#caches[domain]
    const hit = cache.get(raw)
    if (hit !== undefined) return hit
    const mac = createHmac('sha256', this.#subkeys[domain]).update(raw, 'utf8').digest()
    const p = this.#prefix[domain] + mac.toString('base64url', 0, PSEUDONYM_BYTES)
    cache.set(raw, p)
    return p
  }

  /** Cached entries over both domains (for metrics). */
  get cacheSize(): number {
    return this.#caches.device.size + this.#caches.ip.size
  }

  /** Forgets every cached raw identifier (e.g. after an erasure request). */
  clearCache(): void {
    this.#caches.device.clear()
    this.#caches.ip.clear()
  }
}

// Two generations of capacity/2 each: hits in the old one are promoted, and when the young one is full the
// old one is dropped whole. O(1) per call; a single Map evicting its first key costs O(deleted holes) in
// V8 (the iterator skips them), measured at ~30 µs per miss at 65,536 entries.
class GenerationCache {
  #young = new Map<string, string>()
  #old = new Map<string, string>()
  readonly #half: number

  constructor(capacity: number) {
    this.#half = Math.floor(capacity / 2)
  }

  get size(): number {
    return this.#young.size + this.#old.size
  }

  get(raw: string): string | undefined {
    const v = this.#young.get(raw)
    if (v !== undefined) return v
    const o = this.#old.get(raw)
    if (o !== undefined) {
      this.#old.delete(raw)
      this.set(raw, o)
    }
    return o
  }

  set(raw: string, p: string): void {
    if (this.#half === 0) return
    if (this.#young.size >= this.#half) {
      this.#old = this.#young
      this.#young = new Map()
    }
    this.#young.set(raw, p)
  }

  clear(): void {
    this.#young.clear()
    this.#old.clear()
  }
}
