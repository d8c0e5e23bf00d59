// The permission violations nats-server reports to a connection. nats-server answers a refused PUB or SUB
// with -ERR 'Permissions Violation ...'; nats.js v2 surfaces it as a status event
// { type: 'error', data: 'PERMISSIONS_VIOLATION', permissionContext }.
import { ErrorCode, Events, type NatsConnection } from 'nats'

export interface Refusal { operation: string, subject: string }

/**
 * The permission violations the server reports to nc from now on ("publish" / "subscription", subject).
 * settled() lists them after a round trip: the server answers in order, so a refusal of anything sent
 * before the flush arrives before its PONG; one more macrotask lets the status iterator deliver it.
 */
export function refusals(nc: NatsConnection): { settled(): Promise<Refusal[]> } {
  const seen: Refusal[] = []
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === Events.Error && s.data === ErrorCode.PermissionsViolation && s.permissionContext) {
        seen.push({ operation: s.permissionContext.operation, subject: s.permissionContext.subject })
      }
    }
  })()
  return {
    async settled() {
      await nc.flush()
      await new Promise((r) => setTimeout(r, 0))
      return seen
    },
  }
}
