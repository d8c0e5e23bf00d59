// `idr audit head | verify`: the privacy audit trail of a store file (the engine may be running or stopped).
// head prints SEQ:HEX to anchor outside idr; verify recomputes the chain, optionally against such an anchor,
// and exits 1 naming the first record that does not fit.
import { existsSync } from 'node:fs'
import { parseAnchor } from '../privacy/audit.js'
import { openStore } from '../store/sqlite-store.js'
import { suggest } from '../options/suggest.js'
import { parseFlags, UsageError, wantsHelp } from '../options/args.js'

export const AUDIT_USAGE = `idr audit head|verify --db FILE: the privacy audit trail of a store file (docs/privacy.md)

  idr audit head --db FILE                  print the trail's head (SEQ:HEX), to anchor outside idr
  idr audit verify --db FILE [--anchor SEQ:HEX] [--json]
                                            recompute the chain; exit 1 naming the first bad record.
                                            A truncated tail is only detectable against an anchored head.
  --db FILE         the engine's SQLite file (running or stopped)
  --anchor SEQ:HEX  a head printed earlier by idr audit head
  --json            verify's verdict as one JSON object`
const SUBCOMMANDS = ['head', 'verify'] as const
const FLAGS = { db: { type: 'string' }, anchor: { type: 'string' }, json: { type: 'boolean' } } as const

export async function auditCommand(args: string[]): Promise<number> {
  if (wantsHelp(args)) {
    console.log(AUDIT_USAGE)
    return 0
  }
  const [sub, ...rest] = args
  if (sub !== 'head' && sub !== 'verify') {
    const near = sub === undefined ? undefined : suggest(sub, SUBCOMMANDS)
    throw new UsageError(sub === undefined ? 'give head or verify: idr audit head|verify --db FILE' : `unknown subcommand "${sub}"${near ? ` (did you mean "${near}"?)` : ''}: idr audit head|verify --db FILE`)
  }
  const { values } = parseFlags(rest, FLAGS)
  if (values.db === undefined) throw new UsageError('--db FILE is required')
  if (!existsSync(values.db)) throw new UsageError(`--db ${values.db} does not exist`)
  let anchor
  try {
    anchor = values.anchor === undefined ? undefined : parseAnchor(values.anchor)
  } catch (cause) {
    throw new UsageError(`--anchor: ${(cause as Error).message}`, { cause })
  }
  const store = openStore(values.db)
  try {
    const log = store.auditLog()
    if (sub === 'head') {
      const h = log.head()
      console.log(`${h.seq}:${h.chain}`)
      return 0
    }
    const v = log.verify(anchor)
    if (values.json) console.log(JSON.stringify(v))
    else if (v.ok) console.log(`ok: ${v.records} records, head ${v.head.seq}:${v.head.chain}${anchor ? ` (anchored at ${anchor.seq})` : ' (not anchored: a truncated tail would not show)'}`)
    else console.log(`bad: record ${v.firstBad.seq}: ${v.firstBad.reason} (${v.records} records before it verified)`)
    return v.ok ? 0 : 1
  } finally {
    store.close()
  }
}
