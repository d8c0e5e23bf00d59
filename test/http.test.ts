// The HTTP surface on a real server (port 0): health and readiness follow their callbacks, /metrics is Prometheus text.
import { afterEach, describe, expect, it } from 'vitest'
import { startHttp, type HttpServer } from '../src/api/http.js'
import { EngineMetrics } from '../src/api/metrics.js'
import { Counters } from '../src/runtime/counters.js'

const servers: HttpServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

async function serve(state: { live: boolean, ready: boolean, reason?: string }, metrics = new EngineMetrics()) {
  const server = await startHttp({
    port: 0, metrics,
    health: () => ({ live: state.live }),
    ready: () => (state.reason === undefined ? { ready: state.ready } : { ready: state.ready, reason: state.reason }),
  })
  servers.push(server)
  return (path: string, method = 'GET') => fetch(`http://127.0.0.1:${server.port}${path}`, { method })
}

describe('HTTP surface', () => {
  it('answers /healthz with 200 while live and 503 when not', async () => {
    const state = { live: true, ready: false }
    const get = await serve(state)
    const ok = await get('/healthz')
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ status: 'ok' })
    state.live = false
    expect((await get('/healthz')).status).toBe(503)
  })

  it('answers /readyz with 503 and the reason until ready, then 200', async () => {
    const state: { live: boolean, ready: boolean, reason?: string } = { live: true, ready: false, reason: 'replaying partition 3' }
    const get = await serve(state)
    const notYet = await get('/readyz')
    expect(notYet.status).toBe(503)
    expect(await notYet.json()).toEqual({ status: 'not ready', reason: 'replaying partition 3' })
    state.ready = true
    delete state.reason
    expect((await get('/readyz?verbose')).status).toBe(200)
  })

  it('serves the metrics as Prometheus text with counters and gauges read on scrape', async () => {
    let depth = 7
    const metrics = new EngineMetrics({ gauges: () => ({ mailboxDepth: depth, residentActors: 3, ready: true, natsConnected: true }) })
    const counts = new Counters()
    metrics.readCounters(counts)
    counts.eventsIn = 5
    counts.eventsApplied = 4
    counts.deadLettered('BAD_FIELD', 1)
    counts.deadLettered('TOO_LARGE', 2)
    counts.duplicatesById = 1
    counts.assignmentsByStage.open = 2
    metrics.observeLatency(0.0002)
    metrics.natsDisconnected()
    metrics.natsReconnected()
    const get = await serve({ live: true, ready: true }, metrics)
    const res = await get('/metrics')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe(metrics.contentType)
    expect(res.headers.get('content-type')).toContain('text/plain')
    const text = await res.text()
    for (const name of [
      'idr_events_in_total', 'idr_events_applied_total', 'idr_events_rejected_total', 'idr_duplicates_ignored_total',
      'idr_assignments_out_total', 'idr_dlq_records_total', 'idr_mailbox_depth', 'idr_resident_actors', 'idr_households',
      'idr_snapshot_lag_ms', 'idr_pool_queue', 'idr_ready', 'idr_event_to_assignment_seconds',
      'idr_nats_connected', 'idr_nats_disconnects_total', 'idr_nats_reconnects_total',
    ]) expect(text).toContain(`# TYPE ${name} `)
    expect(text).toContain('idr_events_in_total 5')
    expect(text).toContain('idr_events_rejected_total{reason="TOO_LARGE"} 2')
    expect(text).toContain('idr_dlq_records_total 2')
    expect(text).toContain('idr_duplicates_ignored_total 1')
    expect(text).toContain('idr_assignments_out_total{stage="open"} 2')
    expect(text).toContain('idr_event_to_assignment_seconds_bucket{le="0.00025"} 1')
    expect(text).toContain('idr_mailbox_depth 7')
    expect(text).toContain('idr_ready 1')
    expect(text).toContain('idr_nats_connected 1')
    expect(text).toContain('idr_nats_reconnects_total 1')
    depth = 9
    counts.eventsIn = 6
    const again = await (await get('/metrics')).text()
    expect(again).toContain('idr_mailbox_depth 9')
    expect(again).toContain('idr_events_in_total 6')
  })

  it('keeps two engines\' metrics apart', async () => {
    const a = new EngineMetrics()
    const b = new EngineMetrics()
    const counts = new Counters()
    a.readCounters(counts)
    counts.eventsIn = 2
    expect(await a.text()).toContain('idr_events_in_total 2')
    expect(await b.text()).toContain('idr_events_in_total 0')
    expect(() => a.readCounters(new Counters())).toThrow(expect.objectContaining({ code: 'BAD_STATE' }))
  })

  it('answers 404 for other paths and 405 for other methods', async () => {
    const get = await serve({ live: true, ready: true })
    expect((await get('/')).status).toBe(404)
    expect((await get('/metrics/x')).status).toBe(404)
    const post = await get('/metrics', 'POST')
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET, HEAD')
    expect((await get('/healthz', 'HEAD')).status).toBe(200)
  })

  it('answers 500 when a callback throws, and tells onError', async () => {
    const errors: unknown[] = []
    const server = await startHttp({
      port: 0, metrics: new EngineMetrics(), onError: (e) => errors.push(e),
      health: () => { throw new Error('boom') }, ready: () => ({ ready: true }),
    })
    servers.push(server)
    const res = await fetch(`http://127.0.0.1:${server.port}/healthz`)
    expect(res.status).toBe(500)
    expect(await res.json()).toEqual({ error: 'internal error' })
    expect(errors).toHaveLength(1)
  })
})
