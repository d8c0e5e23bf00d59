import { describe, expect, it } from 'vitest'
import { AttributionError } from '../src/attribution/errors.js'
import { excerpt, MAX_EXCERPT_CHARS, parsePathTable } from '../src/attribution/csv.js'

function refusal(text: string): AttributionError {
  try { parsePathTable(text) } catch (e) { if (e instanceof AttributionError) return e; throw e }
  throw new Error('expected a refusal')
}

describe('path-table CSV refusals', () => {
  it('refuses a header with no data rows (NO_ROWS)', () => {
    expect(refusal('path,total_conversions\n\n').code).toBe('NO_ROWS')
  })
  it('refuses a row with fewer fields than the header, naming its line', () => {
    const e = refusal('path,total_conversions,total_null\nA,1,2\nB,1\n')
    expect([e.code, e.line]).toEqual(['BAD_PATH_TABLE', 3])
  })
  it('refuses a header that names a column twice', () => {
    const e = refusal('path,total_conversions,path\nA,1,A\n')
    expect([e.code, e.line]).toEqual(['BAD_PATH_TABLE', 1])
  })
  it('refuses a count of 1e308 as an overflow naming its line', () => {
    const e = refusal('path,total_conversions\nA,1\nB,1e308\n')
    expect([e.code, e.line]).toEqual(['OVERFLOW', 3])
  })
  it('refuses column totals that pass the safe bound', () => {
    const e = refusal('path,total_conversions\nA,5000000000000000\nB,5000000000000000\n')
    expect([e.code, e.line]).toEqual(['OVERFLOW', 3])
  })
  it('quotes at most a short escaped excerpt of binary input', () => {
    const binary = '\u0000\u0001\u00ff'.repeat(2000)
    const e = refusal(binary)
    expect(e.message.length).toBeLessThan(400)
    expect(e.message).not.toMatch(/[\x00-\x1f\x7f-\xff]/)
    expect(excerpt('\x07abc')).toBe('\\x07abc')
    expect(excerpt('a'.repeat(500)).length).toBeLessThanOrEqual(MAX_EXCERPT_CHARS + 1)
  })
})
