// Whole-message rejection codes of the ingress; per-event codes are EventErrorCode (src/model/events.ts).
import { IdrError } from '../errors.js'

/** Why a whole bus message was rejected before any event in it was looked at. */
export type IngressErrorCode =
  | 'TOO_LARGE' // more bytes than maxMessageBytes; not decoded at all
  | 'BAD_MSGPACK' // not exactly one well-formed msgpack value: truncated, trailing bytes, reserved byte, extension type, non-string key, invalid UTF-8
  | 'LIMIT_EXCEEDED' // a string, bin, array, map or nesting depth over its limit
  | 'FORBIDDEN_KEY' // a map key __proto__, constructor or prototype, at any depth
  | 'NOT_AN_EVENT' // the top level is neither a map (one event) nor an array (a batch)
  | 'TOO_MANY_EVENTS' // a batch longer than maxEventsPerMessage

/** A message the ingress refuses as a whole, or ('BAD_OPTION') an ingress configured with bad options. */
export class IngressError extends IdrError {
  declare readonly code: IngressErrorCode | 'BAD_OPTION'
  constructor(code: IngressErrorCode | 'BAD_OPTION', message: string, options?: { cause?: unknown }) {
    super(code, message, options)
  }
}
