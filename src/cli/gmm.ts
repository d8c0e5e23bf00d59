// `idr gmm FILE.csv`: Gaussian-mixture model selection on the numeric columns of a CSV file, printed as
// a BIC table and the chosen components. The kernels' front door until the engine's own commands exist.
import { readFileSync } from 'node:fs'
import { KernelError } from '../errors.js'
import type { CovarianceType, GmmSelection } from '../kernels/gmm.js'
import { KernelOps } from '../kernels/ops.js'
import { matrix, type Matrix } from '../kernels/validate.js'
import { choice, parseFlags, UsageError, wantsHelp, wholeNumber } from '../options/args.js'
import { OptionError } from '../options/check.js'

export const GMM_USAGE = `idr gmm FILE.csv [options]: Gaussian-mixture model selection (BIC) on a CSV's numeric columns

The first line is a header when any of its cells is not a number.

  --columns a,b,...       columns by header name or 0-based index (default: all)
  --k N | N-M             numbers of components tried (default 1-6)
  --covariance full|diag  covariance structure (default full)
  --n-init N              k-means++ initialisations per K (default 10)
  --seed S                seed of the initialisations (default 0)
  --json                  one JSON object instead of the table

Example: idr gmm test/fixtures/iris.csv --columns sepal_length,petal_length --k 1-4`

/** Numeric rows of a CSV; the first line is a header when any of its cells is not a number. */
export function readCsv(text: string, columns?: readonly string[]): { x: Matrix, names: string[] } {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '')
  const first = lines[0]?.split(',').map((c) => c.trim()) ?? []
  const hasHeader = first.some((c) => c === '' || !Number.isFinite(Number(c)))
  const header = hasHeader ? first : first.map((_, i) => `x${i}`)
  const body = hasHeader ? lines.slice(1) : lines
  const pick = columns ? columns.map((c) => {
    const i = /^\d+$/.test(c) ? Number(c) : header.indexOf(c)
    if (i < 0 || i >= header.length) throw new OptionError(`no column "${c}"; columns: ${header.join(', ')}`)
    return i
  }) : header.map((_, i) => i)
  const data: number[] = []
  body.forEach((line, r) => {
    const cells = line.split(',')
    for (const i of pick) {
      const v = Number(cells[i])
      if (cells[i] === undefined || cells[i]!.trim() === '' || !Number.isFinite(v)) {
        throw new KernelError('NOT_FINITE', `row ${r + (hasHeader ? 2 : 1)}, column "${header[i]}": "${cells[i] ?? ''}" is not a number`)
      }
      data.push(v)
    }
  })
  if (body.length === 0) throw new KernelError('BAD_SHAPE', 'the file has no data rows')
  return { x: matrix(body.length, pick.length, data), names: pick.map((i) => header[i]!) }
}

function parseRange(s: string): { kMin: number, kMax: number } {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s)
  if (!m || Number(m[1]) < 1 || Number(m[2] ?? m[1]) < Number(m[1])) throw new UsageError(`--k takes N or N-M with 1 ≤ N ≤ M, got "${s}"`)
  return { kMin: Number(m[1]), kMax: Number(m[2] ?? m[1]) }
}

function report(sel: GmmSelection, names: readonly string[], ms: number, n: number): string {
  const best = sel.best
  const lines = [
    `${n} rows × ${best.d} columns (${names.join(', ')}), ${best.covariance} covariance, ${ms.toFixed(1)} ms`,
    '',
    '   K        BIC     log-lik  iterations',
    ...sel.candidates.map((c) => `${c.k === best.k ? '*' : ' '} ${String(c.k).padStart(2)} ${c.bic.toFixed(2).padStart(10)} ${c.logLik.toFixed(2).padStart(11)} ${String(c.iterations).padStart(6)}${c.converged ? '' : ' (not converged)'}`),
    '',
    `BIC chooses K = ${best.k}:`,
  ]
  for (let j = 0; j < best.k; j++) {
    const mean = Array.from(best.means.subarray(j * best.d, (j + 1) * best.d), (v) => v.toFixed(2)).join(', ')
    lines.push(`  component ${j + 1}: weight ${best.weights[j]!.toFixed(3)}, mean [${mean}]`)
  }
  return lines.join('\n')
}

const FLAGS = {
  columns: { type: 'string' }, k: { type: 'string' }, covariance: { type: 'string' },
  'n-init': { type: 'string' }, seed: { type: 'string' }, json: { type: 'boolean' },
} as const
const COVARIANCES: readonly CovarianceType[] = ['full', 'diag']

export function gmmCommand(args: string[]): number {
  if (wantsHelp(args)) {
    console.log(GMM_USAGE)
    return 0
  }
  const { values, positionals } = parseFlags(args, FLAGS, 1)
  const file = positionals[0]
  if (file === undefined) throw new UsageError('give the CSV file: idr gmm FILE.csv')
  const options = {
    ...parseRange(values.k ?? '1-6'), covariance: choice('covariance', values.covariance, COVARIANCES) ?? 'full',
    nInit: wholeNumber('n-init', values['n-init'], 1) ?? 10, seed: wholeNumber('seed', values.seed, 0, 2 ** 32 - 1) ?? 0,
  }
  const { x, names } = readCsv(readFileSync(file, 'utf8'), values.columns?.split(',').map((c) => c.trim()))
  const t0 = performance.now()
  const sel = new KernelOps().selectGmm(x, options)
  const ms = performance.now() - t0
  if (values.json) {
    const { best, candidates } = sel
    console.log(JSON.stringify({ columns: names, rows: x.rows, ms, candidates, best: { k: best.k, weights: [...best.weights], means: [...best.means], bic: best.bic } }))
  } else {
    console.log(report(sel, names, ms, x.rows))
  }
  return 0
}
