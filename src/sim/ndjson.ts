// Events as NDJSON files (one JSON object per line): written as a stream in chunks, read back line by line
// through the schema validator. A bad line becomes a typed error with its line number; the lines around it
// are still read.
import { once } from 'node:events'
import { createReadStream, createWriteStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { IdrError } from '../errors.js'
import { EventError, validateEvent, type EventErrorCode, type IdrEvent } from '../model/events.js'

/** Lines are joined into chunks of about this many characters before each write. */
const WRITE_CHUNK_CHARS = 1 << 16

/** Writes one event per line to `path` (replacing the file); resolves to the number of events written. */
export async function writeEventsNdjson(events: Iterable<IdrEvent>, path: string): Promise<number> {
  const out = createWriteStream(path, { encoding: 'utf8' })
  const failed = new Promise<never>((_, reject) => out.once('error', reject))
  failed.catch(() => {}) // observed below; keeps an early error from being reported as unhandled
  let n = 0
  let chunk = ''
  const flush = async () => {
    if (!out.write(chunk)) await Promise.race([once(out, 'drain'), failed])
    chunk = ''
  }
  try {
    for (const e of events) {
      chunk += JSON.stringify(e) + '\n'
      n++
      if (chunk.length >= WRITE_CHUNK_CHARS) await flush()
    }
    if (chunk.length) await flush()
    out.end()
    await Promise.race([once(out, 'finish'), failed])
  } catch (e) {
    out.destroy()
    throw e
  }
  return n
}

export type NdjsonErrorCode = 'BAD_JSON' | EventErrorCode

/** A line of an NDJSON file that is not a valid event: `line` is 1-based, `field` names the bad field if any. */
export class NdjsonError extends IdrError {
  declare readonly code: NdjsonErrorCode
  constructor(code: NdjsonErrorCode, readonly path: string, readonly line: number, readonly field: string, message: string, options?: { cause?: unknown }) {
    super(code, `${path}:${line}: ${message}`, options)
  }
}

/** Validated events of an NDJSON file; `errors` collects the bad lines met so far (complete after the loop). */
export interface NdjsonEventReader extends AsyncIterable<IdrEvent> {
  readonly errors: readonly NdjsonError[]
}

/** Reads `path` line by line (blank lines skipped); yields each valid event and records each bad line. */
export function readEventsNdjson(path: string): NdjsonEventReader {
  const errors: NdjsonError[] = []
  return {
    errors,
    async *[Symbol.asyncIterator]() {
      errors.length = 0 // each pass reports its own bad lines
      const input = createReadStream(path, { encoding: 'utf8' })
      const lines = createInterface({ input, crlfDelay: Infinity })
      let line = 0
      try {
        for await (const text of lines) {
          line++
          if (text.trim() === '') continue
          let event: IdrEvent
          try {
            event = validateEvent(JSON.parse(text))
          } catch (e) {
            if (e instanceof EventError) errors.push(new NdjsonError(e.code, path, line, e.field ?? '', e.message, { cause: e }))
            else if (e instanceof SyntaxError) errors.push(new NdjsonError('BAD_JSON', path, line, '', `not valid JSON (${e.message})`, { cause: e }))
            else throw e
            continue
          }
          yield event
        }
      } finally {
        lines.close()
        input.destroy()
      }
    },
  }
}
