// The ChannelAttribution path-table CSV: what it tolerates, what it refuses (with the line), and round trips.
import { describe, expect, it } from 'vitest'
import { AttributionError, formatPathTable, parsePathTable, PathTable } from '../src/attribution/index.js'

function refusal(text: string): AttributionError {
  try {
    parsePathTable(text)
  } catch (err) {
    if (err instanceof AttributionError) return err
    throw err
  }
  throw new Error('parsed without complaint')
}

describe('path-table CSV', () => {
  it('reads the four ChannelAttribution columns and interns channels', () => {
    const t = parsePathTable('path,total_conversions,total_conversion_value,total_null\nA > B > A,2,30.5,7\nB,0,0,4\n')
    expect(t.channels).toEqual(['A', 'B'])
    expect(t.rows).toBe(2)
    expect(Array.from(t.path(0))).toEqual([0, 1, 0])
    expect([t.conversions[0], t.value[0], t.nulls[0], t.nulls[1]]).toEqual([2, 30.5, 7, 4])
  })

  it('tolerates whitespace around separators and fields, quotes, CRLF, a BOM, any column order and blank lines', () => {
    const t = parsePathTable('\uFEFFtotal_null, path ,total_conversions\r\n 1 , "  email>search  >  tv, late " , 3 \r\n\r\n2,"say ""hi"" > tv",0\r\n')
    expect(t.pathNames(0)).toEqual(['email', 'search', 'tv, late'])
    expect(t.pathNames(1)).toEqual(['say "hi"', 'tv'])
    expect([t.conversions[0], t.nulls[0], t.value[0]]).toEqual([3, 1, 0])
  })

  it('reads a missing value or null column as zero, and merges repeated paths', () => {
    const t = parsePathTable('path,total_conversions\na > b,1\na>b,2\n')
    expect(t.rows).toBe(1)
    expect([t.conversions[0], t.value[0], t.nulls[0]]).toEqual([3, 0, 0])
  })

  it('refuses a negative count, naming the line', () => {
    const e = refusal('path,total_conversions,total_null\na,1,0\nb,-2,0\n')
    expect(e.code).toBe('BAD_PATH_TABLE')
    expect(e.line).toBe(3)
    expect(e.message).toContain('line 3')
  })

  it('refuses a count that is not a number', () => {
    const e = refusal('path,total_conversions\na,1\n\nb,lots\n')
    expect([e.code, e.line]).toEqual(['BAD_PATH_TABLE', 4])
    expect(e.message).toContain('"lots"')
  })

  it('refuses an empty path that carries conversions, but keeps one with nulls only', () => {
    expect(refusal('path,total_conversions,total_null\n,1,0\n').line).toBe(2)
    expect(parsePathTable('path,total_conversions,total_null\n"",0,5\n').totalNulls()).toBe(5)
  })

  it('refuses an empty channel name, an unterminated quote, extra fields and a header without the needed columns', () => {
    expect(refusal('path,total_conversions\na > > b,1\n').line).toBe(2)
    expect(refusal('path,total_conversions\n"a > b,1\n').line).toBe(2)
    expect(refusal('path,total_conversions\na > b,1,2\n').line).toBe(2)
    const e = refusal('channels,conversions\na,1\n')
    expect([e.code, e.line]).toEqual(['BAD_PATH_TABLE', 1])
    expect(refusal('').code).toBe('BAD_PATH_TABLE')
  })

  it('writes what it reads', () => {
    const t = PathTable.from([
      { path: ['a', 'b, c', 'a'], conversions: 2.5, value: 10.25, nulls: 1 },
      { path: ['x "y"'], conversions: 0, nulls: 3 },
    ])
    const back = parsePathTable(formatPathTable(t))
    expect([...back.journeys()]).toEqual([...t.journeys()])
  })
})
