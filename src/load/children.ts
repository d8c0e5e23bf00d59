// Forked children of `idr load` (publishers, the null consumer): the compiled entry under build/src/load/,
// typed IPC, and waiting for a given message with a timeout.
import { fork, type ChildProcess } from 'node:child_process'
import { IdrError } from '../errors.js'
import { builtFile } from '../paths.js'

/** A forked process that speaks messages In (to it) and Out (from it). */
export class Child<In, Out extends { type: string }> {
  private readonly proc: ChildProcess
  private readonly seen: Out[] = []
  private waiters: { type: string, resolve: (m: Out) => void }[] = []
  private failure: Error | undefined
  readonly exited: Promise<void>
  /** Called with every message (e.g. progress counts). */
  onMessage: ((m: Out) => void) | undefined

  constructor(entry: string, readonly name: string) {
    this.proc = fork(builtFile(entry), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.proc.on('message', (raw) => {
      const m = raw as Out
      this.onMessage?.(m)
      if (m.type === 'error') this.fail(new IdrError('LOAD_CHILD', `${name}: ${(m as unknown as { message: string }).message}`))
      const w = this.waiters.find((x) => x.type === m.type)
      if (w) {
        this.waiters = this.waiters.filter((x) => x !== w)
        w.resolve(m)
      } else {
        this.seen.push(m)
      }
    })
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => {
      if (code !== 0 && !this.failure) this.fail(new IdrError('LOAD_CHILD', `${name} exited (${code ?? signal})`))
      resolve()
    }))
  }

  get pid(): number | undefined {
    return this.proc.pid
  }

  private failListeners: ((e: Error) => void)[] = []
  private fail(e: Error): void {
    this.failure ??= e
    for (const l of this.failListeners.splice(0)) l(e)
  }

  send(m: In): void {
    if (this.proc.connected) this.proc.send(m as object)
  }

  /** The next message of this type (or one already received); rejects on the child's error or exit, or after timeoutMs. */
  waitFor<T extends Out['type']>(type: T, timeoutMs: number): Promise<Extract<Out, { type: T }>> {
    const i = this.seen.findIndex((m) => m.type === type)
    if (i >= 0) return Promise.resolve(this.seen.splice(i, 1)[0] as Extract<Out, { type: T }>)
    if (this.failure) return Promise.reject(this.failure)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new IdrError('LOAD_TIMEOUT', `${this.name}: no "${type}" in ${timeoutMs} ms`)), timeoutMs)
      this.waiters.push({ type, resolve: (m) => { clearTimeout(timer); resolve(m as Extract<Out, { type: T }>) } })
      this.failListeners.push((e) => { clearTimeout(timer); reject(e) })
    })
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL')
  }
}

/** Asks a child to stop (SIGTERM), kills it (SIGKILL) if it has not exited after timeoutMs, and waits for its exit. */
export async function terminate(child: ChildProcess, exited: Promise<void>, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  await exited
  clearTimeout(timer)
}
