// The NATS connection as the bus follows it: nats.js's status iterator turned into ConnectionEvents and a
// ConnectionState, and the outputs held while it is down sent when it is back (docs/operations.md, "NATS connection").
import { DebugEvents, ErrorCode, Events, type NatsConnection, type ServersChanged } from 'nats'
import { HeldOutputs } from './held-outputs.js'

/**
 * The connection as the bus last saw it; `since` is epoch ms. 'closed' is final: nats.js gave up (or close()
 * was called) and nothing more arrives.
 */
export type ConnectionState =
  | { readonly state: 'connected', readonly server: string, readonly since: number }
  | { readonly state: 'disconnected', readonly server: string, readonly since: number }
  | { readonly state: 'closed', readonly since: number }

/**
 * What happened to the connection, from nats.js's status iterator. `server` is host:port (never credentials);
 * no event carries a payload. A permission error names the refused operation and subject, which may hold an
 * account token (as other logs do), nothing more personal.
 */
export type ConnectionEvent =
  | { readonly type: 'disconnect', readonly server: string }
  /** One reconnect attempt (every reconnectTimeWait, 2 s by default, while down). */
  | { readonly type: 'reconnecting', readonly server: string }
  /** Back after downMs; heldOutputs were sent now, droppedOutputs went past the hold's bound (HeldOutputs). */
  | { readonly type: 'reconnect', readonly server: string, readonly downMs: number, readonly heldOutputs: number, readonly droppedOutputs: number }
  | { readonly type: 'permission-error', readonly operation: string, readonly subject: string }
  /** An asynchronous error the server sent (-ERR), by nats.js code, e.g. AUTHORIZATION_VIOLATION. */
  | { readonly type: 'server-error', readonly code: string }
  /** The server is shutting down gracefully (lame duck mode); the client will move to another. */
  | { readonly type: 'lame-duck', readonly server: string }
  | { readonly type: 'servers-changed', readonly added: readonly string[], readonly deleted: readonly string[] }
  /** The server stopped answering pings; nats.js drops the connection and reconnects. */
  | { readonly type: 'stale' }
  /** Final. `requested`: by close()/destroy(), else nats.js gave up (error: why, when it says). */
  | { readonly type: 'closed', readonly requested: boolean, readonly error?: string }

/** Follows one connection from its start to its close, telling `tell` of every change worth telling. */
export class ConnectionWatch {
  /** The connection now. */
  state: ConnectionState
  /** close() or destroy() was called: the connection's end is expected. */
  closing = false
  /** Outputs published while disconnected, sent when the connection is back. */
  readonly held = new HeldOutputs()

  constructor(private readonly nc: NatsConnection, private readonly tell: (event: ConnectionEvent) => void) {
    this.state = { state: 'connected', server: nc.getServer(), since: Date.now() }
    void this.watch()
  }

  /** Follows nats.js's status iterator (it ends when the connection closes) and then the close itself. */
  private async watch(): Promise<void> {
    void this.nc.closed().then((err) => {
      this.state = { state: 'closed', since: Date.now() }
      this.tell(err ? { type: 'closed', requested: this.closing, error: err.message } : { type: 'closed', requested: this.closing })
    })
    for await (const s of this.nc.status()) {
      const event = this.event(s.type, s.data, s.permissionContext)
      if (event) this.tell(event)
    }
  }

  /** Turns one nats.js status into an event, moving `state` on; undefined for the ones not worth telling. */
  private event(type: string, data: unknown, permission: { operation: string, subject: string } | undefined): ConnectionEvent | undefined {
    const now = Date.now()
    const server = typeof data === 'string' ? data : this.nc.getServer()
    switch (type) {
      case Events.Disconnect:
        // nats.js reports one disconnect per lost connection; a second while down would restart the clock
        if (this.state.state !== 'connected') return undefined
        this.state = { state: 'disconnected', server, since: now }
        return { type: 'disconnect', server }
      case Events.Reconnect: {
        const downMs = this.state.state === 'disconnected' ? now - this.state.since : 0
        this.state = { state: 'connected', server, since: now }
        const { sent, dropped } = this.held.release((subject, data) => this.nc.publish(subject, data))
        return { type: 'reconnect', server, downMs, heldOutputs: sent, droppedOutputs: dropped }
      }
      case DebugEvents.Reconnecting:
        return { type: 'reconnecting', server }
      case Events.Error:
        return data === ErrorCode.PermissionsViolation && permission
          ? { type: 'permission-error', operation: permission.operation, subject: permission.subject }
          : { type: 'server-error', code: String(data) }
      case Events.LDM:
        return { type: 'lame-duck', server }
      case Events.Update: {
        // nats.js also reports an update with nothing in it after every reconnect
        const { added, deleted } = data as ServersChanged
        return added.length + deleted.length > 0 ? { type: 'servers-changed', added, deleted } : undefined
      }
      case DebugEvents.StaleConnection:
        return { type: 'stale' }
      default:
        return undefined // pingTimer, client-initiated reconnect: nats.js handles them
    }
  }
}
