// The command line's manners, as a user meets them: --help and -h on every command (stdout, exit 0), exit 2
// with a plain message for a wrong command line, "did you mean" for a near miss, exit 1 for a failure while
// running. The compiled CLI in a child process.
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { builtFile, projectRoot } from '../src/paths.js'

function idr(...args: string[]): { status: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, [builtFile('src/cli/main.js'), ...args], { encoding: 'utf8', cwd: projectRoot })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

const COMMANDS = ['demo', 'eval', 'serve', 'load', 'attribute', 'audit', 'erase', 'export', 'gmm', 'bench']

describe('idr <command> --help', () => {
  it.each(COMMANDS)('%s --help prints its own usage on stdout and exits 0', (command) => {
    for (const flag of ['--help', '-h']) {
      const r = idr(command, flag)
      expect(r.status, `${command} ${flag}: ${r.stderr}`).toBe(0)
      expect(r.stderr).toBe('')
      expect(r.stdout.startsWith(`idr ${command}`), r.stdout.slice(0, 80)).toBe(true)
      expect(r.stdout.split('\n').length).toBeGreaterThan(4)
    }
  })

  it('answers --help even after other flags, and before a bad one', () => {
    expect(idr('eval', '--households', '3', '--help').status).toBe(0)
    expect(idr('demo', '--no-such-flag', '-h').status).toBe(0)
  })

  it('gives attribute a help of short lines, with option descriptions and examples', () => {
    const lines = idr('attribute', '--help').stdout.trimEnd().split('\n')
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(116)
    expect(lines.some((l) => /^\s+--lookback-days D\s+\S/.test(l))).toBe(true)
    expect(lines.filter((l) => /^\s+idr attribute --input /.test(l)).length).toBeGreaterThanOrEqual(2)
    expect(lines).toContain('Examples:')
  })

  it('lists every command in idr --help', () => {
    const help = idr('--help').stdout
    for (const c of COMMANDS) expect(help).toContain(`idr ${c}`)
  })
})

describe('a wrong command line', () => {
  it('suggests the command meant, and exits 2', () => {
    const r = idr('srve')
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('unknown command "srve" (did you mean "serve"?)')
    expect(idr('frobnicate').stderr).not.toContain('did you mean')
  })

  it('suggests the option meant, and exits 2', () => {
    const r = idr('demo', '--househods', '3')
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('idr demo: unknown option --househods (did you mean --households?)')
    expect(idr('eval', '--dificulty', 'hard').stderr).toContain('did you mean --difficulty?')
    expect(idr('attribute', '--input', 'x.csv', '--lookback-day', '3').stderr).toContain('did you mean --lookback-days?')
    expect(idr('export', '--acount', 'a').stderr).toContain('did you mean --account?')
  })

  it('says what a number flag needs, for a negative number given either way', () => {
    for (const args of [['--households', '-3'], ['--households=-3']]) {
      const r = idr('demo', ...args)
      expect(r.status).toBe(2)
      expect(r.stderr).toContain('idr demo: --households must be a whole number ≥ 1, got "-3"')
      expect(r.stderr).not.toContain('ambiguous')
    }
    expect(idr('eval', '--days', '1.5').stderr).toContain('--days must be a whole number ≥ 1, got "1.5"')
    expect(idr('simulate', '--out', 'x.ndjson', '--late-rate', '2').stderr).toContain('--late-rate must be a share from 0 to 1, got "2"')
  })

  it('exits 2 for every kind of wrong command line, in every command', () => {
    const cases: string[][] = [
      ['demo', '--difficulty', 'extreme'], ['demo', '--out'], ['demo', '--json=yes'], ['eval', 'stray'],
      ['simulate'], ['gmm'], ['gmm', 'a.csv', 'b.csv'], ['gmm', 'a.csv', '--covariance', 'tied'],
      ['audit'], ['audit', 'vrify', '--db', 'x.db'], ['audit', 'verify'], ['bench', '--quik'],
      ['attribute'], ['attribute', '--input', 'x.csv', '--order', '9'], ['load', '--rate', '-5', '--spawn-nats'],
      ['serve', '--nats-usr', 'u'], ['erase'], ['export', '--account', 'a', '--device', 'd', '--nats', 'nats://127.0.0.1:1'],
    ]
    for (const args of cases) {
      const r = idr(...args)
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2)
      expect(r.stderr, args.join(' ')).toMatch(new RegExp(`^idr ${args[0]}: `))
    }
    expect(idr('audit', 'vrify', '--db', 'x.db').stderr).toContain('did you mean "verify"?')
  })

  it('keeps exit 1 for a failure while running', () => {
    const r = idr('eval', '--input', 'no-such-file.ndjson')
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('no-such-file.ndjson')
    expect(idr('erase', '--account', 'a', '--nats', 'nats://127.0.0.1:1').status).toBe(1)
  })
})
