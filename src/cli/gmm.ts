// `idr gmm FILE.csv`: Gaussian-mixture model selection on the numeric columns of a CSV file, printed as
// a BIC table and the chosen components. The kernels' front door until the engine's own commands exist.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { KernelError } from '../errors.js'
import type { CovarianceType, GmmSelection } from '../kernels/gmm.js'
import { KernelOps } from '../kernels/ops.js'
import { matrix, type Matrix } from '../kernels/validate.js'

export const GMM_USAGE = `idr gmm FILE.csv [--columns a,b,...] [--k 1-6] [--covariance full|diag] [--n-init N] [--seed S] [--json]`

/** Numeric rows of a CSV; the first line is a header when any of its cells is not a number. */
export function readCsv(text: string, columns?: readonly string[]): { x: Matrix, names: string[] } {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '')
  const first = lines[0]?.split(',').map((c) => c.trim()) ?? []
  const hasHeader = first.some((c) => c === '' || !Number.isFinite(Number(c)))
  const header = hasHeader ? first : first.map((_, i) => `x${i}`)
  const body = hasHeader ? lines.slice(1) : lines
  const pick = columns ? columns.map((c) => {
    const i = /^\d+$/.test(c) ? Number(c) : header.indexOf(c)
    if (i < 0 || i >= header.length) throw new KernelError('BAD_OPTION', `no column "${c}"; columns: ${header.join(', ')}`)
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
  if (!m) throw new KernelError('BAD_OPTION', `--k takes N or N-M, got "${s}"`)
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

export function gmmCommand(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      columns: { type: 'string' }, k: { type: 'string', default: '1-6' }, covariance: { type: 'string', default: 'full' },
      'n-init': { type: 'string', default: '10' }, seed: { type: 'string', default: '0' }, json: { type: 'boolean', default: false },
    },
  })
  const file = positionals[0]
  if (!file || positionals.length > 1) throw new KernelError('BAD_OPTION', `usage: ${GMM_USAGE}`)
  const { x, names } = readCsv(readFileSync(file, 'utf8'), values.columns?.split(',').map((c) => c.trim()))
  const options = {
    ...parseRange(values.k!), covariance: values.covariance as CovarianceType,
    nInit: Number(values['n-init']), seed: Number(values.seed),
  }
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
