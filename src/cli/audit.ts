// `idr audit head | verify`: the privacy audit trail of a store file (the engine may be running or stopped).
// head prints SEQ:HEX to anchor outside idr; verify recomputes the chain, optionally against such an anchor,
// and exits 1 naming the first record that does not fit.
import { existsSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { IdrError } from '../errors.js'
import { parseAnchor } from '../privacy/audit.js'
import { openStore } from '../store/sqlite-store.js'

export const AUDIT_USAGE = `idr audit head --db FILE                  print the audit trail's head (SEQ:HEX) to anchor outside idr
idr audit verify --db FILE [--anchor SEQ:HEX] [--json]
                                          recompute the chain; exit 1 naming the first bad record.
                                          A truncated tail is only detectable against an anchored head.`

export async function auditCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args
  const { values } = parseArgs({ args: rest, strict: true, options: { db: { type: 'string' }, anchor: { type: 'string' }, json: { type: 'boolean', default: false } } })
  if (sub !== 'head' && sub !== 'verify') {
    console.error(AUDIT_USAGE)
    return 2
  }
  if (values.db === undefined) throw new IdrError('BAD_OPTION', '--db FILE is required')
  if (!existsSync(values.db)) throw new IdrError('BAD_OPTION', `--db ${values.db} does not exist`)
  const anchor = values.anchor === undefined ? undefined : parseAnchor(values.anchor)
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
