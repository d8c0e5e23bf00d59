// `idr serve` as a child process (the compiled build/, as users run it), with its JSON log lines parsed,
// for the tests that kill, stop and restart the engine.
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

const MAIN = join(import.meta.dirname, '..', '..', 'build', 'src', 'cli', 'main.js')

export interface LogLine {
  msg?: string
  level?: number
  [key: string]: unknown
}

export class EngineProcess {
  readonly lines: LogLine[] = []
  readonly stderr: string[] = []
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  private readonly proc: ChildProcess
  private watchers: { test: (l: LogLine) => boolean, resolve: (l: LogLine) => void }[] = []

  constructor(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
    this.proc = spawn(process.execPath, [MAIN, 'serve', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    createInterface({ input: this.proc.stdout! }).on('line', (text) => {
      let line: LogLine
      try {
        line = JSON.parse(text) as LogLine
      } catch {
        line = { msg: text }
      }
      this.lines.push(line)
      this.watchers = this.watchers.filter((w) => (w.test(line) ? (w.resolve(line), false) : true))
    })
    createInterface({ input: this.proc.stderr! }).on('line', (text) => this.stderr.push(text))
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })))
  }

  /** Resolves with the first log line (already seen or coming) that passes the test; rejects after timeoutMs or on exit. */
  waitFor(test: (l: LogLine) => boolean, timeoutMs = 60_000): Promise<LogLine> {
    const seen = this.lines.find(test)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching log line in ${timeoutMs} ms; stderr: ${this.stderr.join('\n')}`)), timeoutMs)
      const w = { test, resolve: (l: LogLine) => { clearTimeout(timer); resolve(l) } }
      this.watchers.push(w)
      void this.exited.then(({ code, signal }) => {
        clearTimeout(timer)
        reject(new Error(`engine exited (code ${code}, signal ${signal}) before a matching log line; stderr: ${this.stderr.join('\n')}`))
      })
    })
  }

  /** Checkpoints that wrote at least one household. */
  get checkpoints(): number {
    return this.lines.filter((l) => l.msg === 'checkpoint' && Number(l['households']) > 0).length
  }

  kill(): Promise<unknown> {
    this.proc.kill('SIGKILL')
    return this.exited
  }

  async terminate(): Promise<number | null> {
    this.proc.kill('SIGTERM')
    return (await this.exited).code
  }
}
