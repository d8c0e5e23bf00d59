// CPU and memory of another process from /proc (Linux): utime + stime of /proc/<pid>/stat and VmRSS of
// /proc/<pid>/status, sampled on a timer. Elsewhere the readings are absent, not invented.
import { readFileSync } from 'node:fs'

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux). */
const USER_HZ = 100
/** Sampling period, ms. */
export const SAMPLE_MS = 250

export interface ProcReading {
  /** CPU time so far, ms (user + system). */
  cpuMs: number
  rssBytes: number
}

/** One reading, or undefined when /proc cannot be read (process gone, not Linux). */
export function readProc(pid: number): ProcReading | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // fields after the command name (which may hold spaces) start at state; utime, stime are fields 14, 15
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const cpuMs = ((Number(rest[11]) + Number(rest[12])) * 1000) / USER_HZ
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN)
    return { cpuMs, rssBytes: kb * 1024 }
  } catch {
    return undefined
  }
}

/** What a sampler saw between two marks. */
export interface ProcUsage {
  /** Mean CPU use over the window, % of one core. */
  cpuPct: number
  rssMbPeak: number
  rssMbEnd: number
}

/** Samples a process every SAMPLE_MS; `mark()` starts a window, `usage()` reads it. */
export class ProcSampler {
  private timer: NodeJS.Timeout
  private start: { at: number, cpuMs: number } | undefined
  private last: ProcReading | undefined
  private lastAt = 0
  private peak = 0

  constructor(readonly pid: number) {
    this.timer = setInterval(() => this.sample(), SAMPLE_MS)
    this.timer.unref()
    this.sample()
  }

  private sample(): void {
    const r = readProc(this.pid)
    if (!r) return
    this.last = r
    this.lastAt = Date.now()
    if (this.start) this.peak = Math.max(this.peak, r.rssBytes)
  }

  /** Current RSS, bytes (fresh reading). */
  rssBytes(): number | undefined {
    this.sample()
    return this.last?.rssBytes
  }

  /** Starts the measured window now. */
  mark(): void {
    this.sample()
    if (this.last) {
      this.start = { at: this.lastAt, cpuMs: this.last.cpuMs }
      this.peak = this.last.rssBytes
    }
  }

  usage(): ProcUsage | undefined {
    this.sample()
    if (!this.start || !this.last) return undefined
    const wall = Math.max(1, this.lastAt - this.start.at)
    return {
      cpuPct: Math.round(((this.last.cpuMs - this.start.cpuMs) / wall) * 1000) / 10,
      rssMbPeak: mb(this.peak),
      rssMbEnd: mb(this.last.rssBytes),
    }
  }

  stop(): void {
    clearInterval(this.timer)
  }
}

export const mb = (bytes: number): number => Math.round((bytes / 1048576) * 10) / 10
