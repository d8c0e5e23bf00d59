// `idr erase` and `idr export`: erasure and access requests, either sent to a running engine over NATS
// (idr.api.privacy.erase / .export, as the admin user) or carried out on a stopped engine's database file
// (--db; with --nats too, the raw events in the JetStream stream go as well). docs/privacy.md.
import { readFileSync, writeFileSync } from 'node:fs'
import { connect, type NatsConnection } from 'nats'
import { IdrError } from '../errors.js'
import { checkRequest, Eraser, type EventStream } from '../privacy/erase.js'
import { jetStreamEvents } from '../privacy/jetstream-events.js'
import { erasurePseudonyms, KeyRing } from '../privacy/keyring.js'
import { openStore } from '../store/sqlite-store.js'
import { suggest } from '../options/suggest.js'
import { parseFlags, UsageError, wantsHelp } from '../options/args.js'
import { loadServeConfig } from './serve-config.js'
import { durableStream, SETTING_ROWS } from './serve-settings.js'
import { DEFAULT_PREFIX } from '../contracts/subjects.js'

const WHERE = `  --nats URL           ask the running engine (idr.api.privacy.*), connecting as the admin user
                       (--nats-user, --nats-password, or IDR_NATS_USER / IDR_NATS_PASSWORD); --prefix P if not idr
  --db FILE            work on a STOPPED engine's database (a running one would write back what it holds)
  The pseudonym key for --db comes from the same settings as idr serve (IDR_PSEUDONYM_KEY,
  --pseudonym-key-file, --dev-key, ...; idr serve --help).`

export const ERASE_USAGE = `idr erase --account A [--person P | --device D] (--nats URL | --db FILE [--nats URL]) [--json]:
erase what idr holds about an account, one of its persons or one of its devices (docs/privacy.md)

  --account A          the account (required)
  --person P           only this person of the account
  --device D           only this device of the account (its raw id, as publishers send it)
${WHERE}
                       With --db and --nats, the account's raw events in the JetStream stream go too
                       (the engine user's rights); add --landing for the landing path's keyed stream
  --json               the result on one line

Examples:
  idr erase --account acct-42 --nats nats://127.0.0.1:4222 --nats-user admin --nats-password …
  IDR_PSEUDONYM_KEY=… idr erase --account acct-42 --person p2 --db /var/lib/idr/idr.db`

export const EXPORT_USAGE = `idr export --account A [--person P] (--nats URL | --db FILE) [--out FILE]:
everything idr holds about an account or one of its persons, as JSON (an access request; docs/privacy.md)

  --account A          the account (required)
  --person P           only this person of the account
${WHERE}
  --out FILE           write the JSON there (mode 600) instead of stdout

Examples:
  idr export --account acct-42 --nats nats://127.0.0.1:4222 --nats-user admin --nats-password … --out acct-42.json
  IDR_PSEUDONYM_KEY=… idr export --account acct-42 --db /var/lib/idr/idr.db`

const OWN = { account: { type: 'string' }, person: { type: 'string' }, device: { type: 'string' }, json: { type: 'boolean' }, out: { type: 'string' } } as const
const REQUEST_TIMEOUT_MS = 60_000
/** The settings of idr serve, which --db mode reads (the pseudonym key, the store, NATS), and --config. */
const SETTING_FLAGS = new Set([...SETTING_ROWS.map((r) => r.flag), '--config'])

export async function eraseCommand(argv: string[]): Promise<number> {
  return privacyCommand('erase', argv)
}

export async function exportCommand(argv: string[]): Promise<number> {
  return privacyCommand('export', argv)
}

async function privacyCommand(verb: 'erase' | 'export', argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    console.log(verb === 'erase' ? ERASE_USAGE : EXPORT_USAGE)
    return 0
  }
  const { own, rest } = split(argv)
  for (const a of rest) {
    // a misspelt flag of ours would otherwise be taken for a setting and refused as one, after --account is missed
    const name = a.startsWith('--') ? a.split('=')[0]! : undefined
    if (name === undefined || SETTING_FLAGS.has(name)) continue
    const near = suggest(name.slice(2), [...Object.keys(OWN), ...[...SETTING_FLAGS].map((f) => f.slice(2))])
    throw new UsageError(`unknown option ${name}${near ? ` (did you mean --${near}?)` : ''}`)
  }
  const { values } = parseFlags(own, OWN)
  if (values.account === undefined) throw new UsageError('--account A is required')
  if (verb === 'export' && values.device !== undefined) throw new UsageError('idr export is by --account, or --account and --person (not --device)')
  if (verb === 'erase' && values.out !== undefined) throw new UsageError('--out goes with idr export; idr erase prints its result')
  let request
  try {
    request = checkRequest({ account: values.account, person: values.person, device: values.device })
  } catch (cause) {
    throw new UsageError((cause as Error).message, { cause }) // a bad account, person or device name
  }
  const offline = rest.includes('--db') || rest.some((a) => a.startsWith('--db='))
  let result: unknown
  if (!offline) {
    // a running engine holds the key: only where to ask is needed
    const { values: o } = parseFlags(rest, { nats: { type: 'string' }, 'nats-user': { type: 'string' }, 'nats-password': { type: 'string' }, prefix: { type: 'string' }, ...OWN })
    const env = process.env
    const url = o.nats ?? env['IDR_NATS']
    if (url === undefined) throw new UsageError('give --nats URL (a running engine) or --db FILE (a stopped one)')
    const prefix = o.prefix ?? env['IDR_PREFIX'] ?? DEFAULT_PREFIX
    result = await ask(url, o['nats-user'] ?? env['IDR_NATS_USER'], o['nats-password'] ?? env['IDR_NATS_PASSWORD'], `${prefix}.api.privacy.${verb}`, request)
  } else {
    const cfg = loadServeConfig(rest, process.env, (p) => readFileSync(p, 'utf8'))
    const store = openStore(cfg.db, { partitions: cfg.of })
    let nc: NatsConnection | undefined
    try {
      const keys = new KeyRing(cfg.pseudonymKeys)
      let stream: EventStream | undefined
      // the stream only when asked for: the settings' default NATS URL is not a request to touch it
      const withStream = rest.some((a) => a === '--nats' || a.startsWith('--nats='))
      if (withStream && cfg.nats !== undefined && verb === 'erase') {
        nc = await connect({ servers: cfg.nats.split(','), user: cfg.natsUser, pass: cfg.natsPassword, name: 'idr-erase' })
        // with --landing the durable stream is the keyed one (docs/privacy.md, "The landing path")
        stream = jetStreamEvents({
          jsm: await nc.jetstreamManager(), stream: durableStream(cfg), prefix: cfg.prefix, partitionsOf: cfg.of, pseudonymiser: keys.current, keyed: cfg.landing,
        })
      }
      const eraser = new Eraser({
        store, stream, partitionsOf: cfg.of,
        pseudonyms: erasurePseudonyms(keys),
      })
      result = verb === 'erase' ? await eraser.erase(request) : await eraser.export(request)
    } finally {
      await nc?.close()
      store.close()
    }
  }
  const text = JSON.stringify(result, null, verb === 'export' || !values.json ? 2 : undefined)
  if (values.out !== undefined) writeFileSync(values.out, text + '\n', { mode: 0o600 })
  else console.log(text)
  return 0
}

/** Our flags (with their values) apart from the settings idr serve understands. */
function split(argv: string[]): { own: string[], rest: string[] } {
  const own: string[] = []
  const rest: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    const name = a.startsWith('--') ? a.slice(2).split('=')[0]! : ''
    if (name in OWN) {
      own.push(a)
      if (!a.includes('=') && OWN[name as keyof typeof OWN].type === 'string' && i + 1 < argv.length) own.push(argv[++i]!)
    } else {
      rest.push(a)
    }
  }
  return { own, rest }
}

/** A request to the running engine; its error reply becomes a typed error. */
async function ask(url: string, user: string | undefined, pass: string | undefined, subject: string, request: object): Promise<unknown> {
  let nc: NatsConnection
  try {
    nc = await connect({ servers: url.split(','), user, pass, name: 'idr-privacy' })
  } catch (cause) {
    throw new IdrError('NATS_UNAVAILABLE', `cannot connect to NATS at ${url}: ${(cause as Error).message}`, { cause })
  }
  try {
    const m = await nc.request(subject, new TextEncoder().encode(JSON.stringify(request)), { timeout: REQUEST_TIMEOUT_MS })
    const reply = JSON.parse(new TextDecoder().decode(m.data)) as { error?: { code: string, message: string } }
    if (reply.error) throw new IdrError(reply.error.code, `the engine refused: ${reply.error.message}`)
    return reply
  } catch (cause) {
    if (cause instanceof IdrError) throw cause
    throw new IdrError('REQUEST_FAILED', `${subject}: ${(cause as Error).message} (is an engine running that owns the account, and may this user publish there?)`, { cause })
  } finally {
    await nc.close()
  }
}
