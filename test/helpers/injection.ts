// Hostile values for every field that can reach a subject, shared by the token-rule tests.

/** The exact 89-character account an outside test used to make the engine's connection delete a stream message. */
export const INJECTION = 'x 0\r\n\r\nPUB $JS.API.STREAM.MSG.DELETE.IDR_EV _INBOX.inj 9\r\n{"seq":5}\r\nPUB idr.out.assign.y'

/** The named bad accounts of the report: injection, another account's subject, spaces, wildcards, a protocol violation. */
export const NAMED_BAD_ACCOUNTS: readonly string[] = [INJECTION, 'a.b', 'hx space', '*', '>', 'dos\r\n']
