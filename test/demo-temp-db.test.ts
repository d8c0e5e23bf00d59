// idr demo's temporary database goes when the demo ends, also when it fails, unless --keep-db asks to keep it:
// the compiled CLI with its own TMPDIR, so what it leaves behind is all that directory holds.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { builtFile, projectRoot } from '../src/paths.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** The demo, tiny, with TMPDIR (where its temporary database goes) and --out in a fresh directory. */
function demo(...args: string[]): { status: number | null, stdout: string, stderr: string, tmp: string } {
  const root = mkdtempSync(join(tmpdir(), 'idr-demo-tmp-'))
  dirs.push(root)
  const tmp = join(root, 'tmp')
  mkdirSync(tmp)
  const r = spawnSync(process.execPath, [builtFile('src/cli/main.js'), 'demo', '--households', '4', '--days', '3', '--pool-threads', '0', '--out', join(root, 'out'), ...args], {
    encoding: 'utf8', cwd: projectRoot, env: { ...process.env, TMPDIR: tmp }, timeout: 60_000,
  })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, tmp }
}

describe('idr demo\'s temporary database', () => {
  it('is removed when the demo ends', () => {
    const r = demo()
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toContain('report: ')
    expect(r.stdout).not.toContain('database: ')
    expect(readdirSync(r.tmp)).toEqual([])
  })

  it('is removed when the demo fails after creating it', () => {
    const r = demo('--nats', 'nats://127.0.0.1:1') // nothing listens there: the demo fails after opening the store
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/idr demo: .*(ECONNREFUSED|CONNECTION_REFUSED|connect)/i)
    expect(readdirSync(r.tmp)).toEqual([])
  })

  it('is kept with --keep-db, at the path printed', () => {
    const r = demo('--keep-db')
    expect(r.status, r.stderr).toBe(0)
    const db = /database: (.+)/.exec(r.stdout)?.[1]
    expect(db?.startsWith(r.tmp)).toBe(true)
    expect(existsSync(db!)).toBe(true)
  })
})
