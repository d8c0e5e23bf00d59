// Key rotation by epoch: a ring of pseudonym keys, each with an integer epoch. The highest epoch is current
// (the ingress pseudonymises new events with it); older ones are kept only so that an erasure by raw id can
// find the pseudonyms made under them. A store records the epoch it was last served with, and moving it
// forward is audited (recordKeyEpoch). docs/key-rotation.md has the format, the procedure and its cost.
import type { AuditHead, AuditLog } from './audit.js'
import { MAX_KEY_EPOCH, PSEUDONYM_KEY_MIN_BYTES, PrivacyError, Pseudonymiser, type PseudonymDomain, type PseudonymiserOptions } from './pseudonymise.js'
import { OptionError } from '../options/check.js'

/** One key of a ring: a secret (≥ PSEUDONYM_KEY_MIN_BYTES) and its epoch (1..MAX_KEY_EPOCH). */
export interface PseudonymKey {
  readonly epoch: number
  readonly key: string | Uint8Array
}

/** The pseudonymisers of every kept epoch; the highest is current. */
export class KeyRing {
  /** The pseudonymiser of the current (highest) epoch: what new events are pseudonymised with. */
  readonly current: Pseudonymiser
  /** The kept epochs, ascending. */
  readonly epochs: readonly number[]
  readonly #byEpoch: ReadonlyMap<number, Pseudonymiser>

  /** Options apply to the current epoch; older epochs are used only for erasures and keep no cache. */
  constructor(keys: readonly PseudonymKey[], options: Omit<PseudonymiserOptions, 'epoch'> = {}) {
    if (!Array.isArray(keys) || keys.length === 0) {
      throw new PrivacyError('BAD_KEY_RING', 'a key ring needs at least one key: [{ epoch: 1, key }]')
    }
    if ('epoch' in options) throw new OptionError('KeyRing: the epoch of each key is given with the key, not as an option')
    const seen: { epoch: number, bytes: Buffer }[] = []
    for (const [i, k] of keys.entries()) {
      const epoch = (k as Partial<PseudonymKey> | null)?.epoch
      if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 1 || epoch > MAX_KEY_EPOCH) {
        throw new PrivacyError('BAD_KEY_RING', `key ${i}: epoch must be an integer in 1..${MAX_KEY_EPOCH}, got ${String(epoch)}`)
      }
      const key = k.key as unknown
      if (typeof key !== 'string' && !(key instanceof Uint8Array)) {
        throw new PrivacyError('BAD_KEY', `the key of epoch ${epoch} must be a string or bytes, got ${key === null ? 'null' : typeof key}`)
      }
      const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key)
      if (bytes.length < PSEUDONYM_KEY_MIN_BYTES) {
        throw new PrivacyError('BAD_KEY', `the key of epoch ${epoch} has ${bytes.length} bytes, at least ${PSEUDONYM_KEY_MIN_BYTES} are needed`)
      }
      if (seen.some((s) => s.epoch === epoch)) throw new PrivacyError('BAD_KEY_RING', `epoch ${epoch} appears twice; give each epoch one key`)
      const same = seen.find((s) => s.bytes.equals(bytes))
      // a rotation that reuses the key rotates nothing: whoever holds the old key still holds the new one
      if (same) throw new PrivacyError('BAD_KEY_RING', `epochs ${same.epoch} and ${epoch} have the same key; a new epoch needs a new secret`)
      seen.push({ epoch, bytes })
    }
    seen.sort((a, b) => a.epoch - b.epoch)
    const top = seen[seen.length - 1]!.epoch
    const byEpoch = new Map<number, Pseudonymiser>()
    for (const { epoch, bytes } of seen) {
      byEpoch.set(epoch, new Pseudonymiser(bytes, epoch === top ? { ...options, epoch } : { cacheEntries: 0, epoch }))
      bytes.fill(0)
    }
    this.#byEpoch = byEpoch
    this.epochs = Object.freeze(seen.map((s) => s.epoch))
    this.current = byEpoch.get(top)!
  }

  /** A ring as given, or one key as epoch 1 (what a single key has always meant). */
  static from(key: string | Uint8Array | KeyRing, options: Omit<PseudonymiserOptions, 'epoch'> = {}): KeyRing {
    if (key === undefined || key === null || key === '') {
      // the usual way here: an embedding read process.env.IDR_PSEUDONYM_KEY and it was not set
      throw new PrivacyError('BAD_KEY', 'pseudonymKey is required: the secret that keys the device and IP pseudonyms, at least ' +
        `${PSEUDONYM_KEY_MIN_BYTES} bytes (set IDR_PSEUDONYM_KEY, e.g. to the output of \`openssl rand -hex 32\`, and pass it; idr serve reads it itself)`)
    }
    return key instanceof KeyRing ? key : new KeyRing([{ epoch: 1, key }], options)
  }

  /** The current epoch. */
  get epoch(): number {
    return this.current.epoch
  }

  /** The pseudonymiser of a kept epoch, or undefined (never kept, or its key destroyed). */
  get(epoch: number): Pseudonymiser | undefined {
    return this.#byEpoch.get(epoch)
  }

  /** The pseudonyms of `raw` under every kept epoch, ascending by epoch: what an erasure by raw id must look for. */
  all(domain: PseudonymDomain, raw: string): string[] {
    return this.epochs.map((e) => this.#byEpoch.get(e)!.pseudonym(domain, raw))
  }

  /** Forgets every cached raw identifier in every epoch (e.g. after an erasure request). */
  clearCache(): void {
    for (const p of this.#byEpoch.values()) p.clearCache()
  }
}

/** The meta entry where a store records the key epoch it was last served with (decimal). */
/**
 * What erasure needs from the ring: a raw account token's or device id's pseudonyms under every kept
 * epoch, the current one first (new tombstones are written under it).
 */
export function erasurePseudonyms(ring: KeyRing): { accounts(raw: string): string[], devices(raw: string): string[] } {
  return { accounts: (raw) => ring.all('account', raw).reverse(), devices: (raw) => ring.all('device', raw).reverse() }
}

export const KEY_EPOCH_META = 'privacy.keyEpoch'

/** What recordKeyEpoch needs of a store (SqliteStore has it). */
export interface KeyEpochStore {
  getMeta(key: string): string | undefined
  setMeta(key: string, value: string): void
  /** Stored households: a store without a recorded epoch but with households predates epochs, so it holds epoch 1. */
  count(): number
  auditLog(): Pick<AuditLog, 'append' | 'records'>
}

/** What recordKeyEpoch found and did. */
export type KeyEpochChange =
  | { readonly change: 'recorded', readonly epoch: number }
  | { readonly change: 'none', readonly epoch: number }
  | { readonly change: 'rotated', readonly fromEpoch: number, readonly toEpoch: number, readonly audit: AuditHead | undefined }

/**
 * Compares the ring's current epoch with the one recorded in the store, at startup. Higher: appends one
 * audit record `{ op: 'key-rotation', at: now, counts: { fromEpoch, toEpoch } }` and records the new epoch.
 * Equal: nothing. Lower: throws KEY_EPOCH_REGRESSED (the store would mix pseudonyms of two epochs for the
 * same devices). A store that recorded no epoch records the current one, without an audit record if it holds
 * no households yet, as a rotation from epoch 1 if it does (it was filled before epochs existed).
 */
export function recordKeyEpoch(store: KeyEpochStore, ring: KeyRing, now: number): KeyEpochChange {
  const toEpoch = ring.epoch
  const stored = store.getMeta(KEY_EPOCH_META)
  let fromEpoch: number
  if (stored === undefined) {
    if (store.count() === 0 || toEpoch === 1) {
      store.setMeta(KEY_EPOCH_META, String(toEpoch))
      return { change: 'recorded', epoch: toEpoch }
    }
    fromEpoch = 1
  } else {
    fromEpoch = /^[1-9][0-9]{0,5}$/.test(stored) ? Number(stored) : NaN
    if (!(fromEpoch <= MAX_KEY_EPOCH)) {
      throw new PrivacyError('BAD_KEY_EPOCH', `the store's ${KEY_EPOCH_META} is not an epoch (an integer in 1..${MAX_KEY_EPOCH}), got ${JSON.stringify(stored)}`)
    }
  }
  if (toEpoch === fromEpoch) return { change: 'none', epoch: toEpoch }
  if (toEpoch < fromEpoch) {
    throw new PrivacyError(
      'KEY_EPOCH_REGRESSED',
      `the store was last served with key epoch ${fromEpoch}, the current key is epoch ${toEpoch}: its devices would get a second pseudonym under an older key; include the key of epoch ${fromEpoch} (or a later one) in the ring`,
    )
  }
  const log = store.auditLog()
  // The append and the meta write are two transactions: after a crash between them the record is already there.
  const last = log.records().findLast((r) => r.op === 'key-rotation')
  const done = last?.counts?.['fromEpoch'] === fromEpoch && last.counts['toEpoch'] === toEpoch
  const audit = done ? undefined : log.append({ op: 'key-rotation', at: now, counts: { fromEpoch, toEpoch } })
  store.setMeta(KEY_EPOCH_META, String(toEpoch))
  return { change: 'rotated', fromEpoch, toEpoch, audit }
}
