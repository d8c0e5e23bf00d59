// `idr erase` and `idr export`: erasure and access requests, either sent to a running engine over NATS
// (idr.api.privacy.erase / .export, as the admin user) or carried out on a stopped engine's database file
// (--db; with --nats too, the raw events in the JetStream stream go as well). docs/privacy.md.
import { readFileSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { connect, type NatsConnection } from 'nats'
import { IdrError } from '../errors.js'
import { checkRequest, Eraser, type EventStream } from '../privacy/erase.js'
import { jetStreamEvents } from '../privacy/jetstream-events.js'
import { erasurePseudonyms, KeyRing } from '../privacy/keyring.js'
import { openStore } from '../store/sqlite-store.js'
import { DEFAULT_STREAM } from '../transport/nats.js'
import { loadServeConfig } from './serve-config.js'

export const PRIVACY_USAGE = `idr erase --account A [--person P | --device D] [--json] (--nats URL | --db FILE [--nats URL])
idr export --account A [--person P] [--out FILE] (--nats URL | --db FILE)
  --nats URL alone        ask the running engine (idr.api.privacy.*; connect as the admin user: --nats-user, --nats-password)
  --db FILE               work on a STOPPED engine's database (a running one would write back what it holds);
                          with --nats too, erase the account's raw events in the JetStream stream (engine user's rights)
  The pseudonym key comes from the same settings as idr serve (IDR_PSEUDONYM_KEY, --pseudonym-key-file, --dev-key, ...).`

const OWN = { account: { type: 'string' }, person: { type: 'string' }, device: { type: 'string' }, json: { type: 'boolean' }, out: { type: 'string' } } as const
const REQUEST_TIMEOUT_MS = 60_000

export async function eraseCommand(argv: string[]): Promise<number> {
  return privacyCommand('erase', argv)
}

export async function exportCommand(argv: string[]): Promise<number> {
  return privacyCommand('export', argv)
}

async function privacyCommand(verb: 'erase' | 'export', argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(PRIVACY_USAGE)
    return 0
  }
  const { own, rest } = split(argv)
  const { values } = parseArgs({ args: own, strict: true, options: OWN })
  if (values.account === undefined) throw new IdrError('BAD_OPTION', `--account is required\n${PRIVACY_USAGE}`)
  if (verb === 'export' && values.device !== undefined) throw new IdrError('BAD_OPTION', 'idr export is by --account, or --account and --person')
  const request = checkRequest({ account: values.account, person: values.person, device: values.device })
  const offline = rest.includes('--db') || rest.some((a) => a.startsWith('--db='))
  let result: unknown
  if (!offline) {
    // a running engine holds the key: only where to ask is needed
    const { values: o } = parseArgs({ args: rest, strict: true, options: { nats: { type: 'string' }, 'nats-user': { type: 'string' }, 'nats-password': { type: 'string' }, prefix: { type: 'string' } } })
    const env = process.env
    const url = o.nats ?? env['IDR_NATS']
    if (url === undefined) throw new IdrError('BAD_OPTION', `give --nats URL (a running engine) or --db FILE (a stopped one)\n${PRIVACY_USAGE}`)
    const prefix = o.prefix ?? env['IDR_PREFIX'] ?? 'idr'
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
        stream = jetStreamEvents({ jsm: await nc.jetstreamManager(), stream: cfg.stream ?? DEFAULT_STREAM, prefix: cfg.prefix, partitionsOf: cfg.of, pseudonymiser: keys.current })
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
