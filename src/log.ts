// The engine's logs: pino, one JSON object per line.
//
// The rule: logs carry account tokens, event ids, codes and counts — never device ids, IPs, event payloads
// or secrets. Write log calls that way; `redact` is the safety net for a field that slips in, not a licence.
// pino matches paths exactly: `*.device` covers one level of nesting, so keep logged objects flat.
import pino from 'pino'

export type Logger = pino.Logger
export type LogLevel = pino.LevelWithSilent

/** Fields that may carry personal data or secrets; their values are replaced by "[redacted]". */
export const REDACTED_PATHS: readonly string[] = [
  'device', '*.device',
  'ip', '*.ip',
  'event', 'event.*', 'payload', '*.payload',
  'pseudonymKey', '*.pseudonymKey', 'natsPassword', '*.natsPassword',
]

/** A JSON-lines logger at `level`, to stdout or the given destination. */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  }
  return destination ? pino(options, destination) : pino(options)
}
