// suggest(): the nearest known name to a mistyped one, or nothing when nothing is near.
import { describe, expect, it } from 'vitest'
import { editDistance, suggest } from '../src/options/suggest.js'

const COMMANDS = ['demo', 'serve', 'load', 'eval', 'simulate', 'attribute', 'audit', 'erase', 'export', 'gmm', 'bench']

describe('suggest', () => {
  it('finds a command with a letter left out, added, changed or two swapped', () => {
    expect(suggest('srve', COMMANDS)).toBe('serve')
    expect(suggest('servee', COMMANDS)).toBe('serve')
    expect(suggest('sarve', COMMANDS)).toBe('serve')
    expect(suggest('sevre', COMMANDS)).toBe('serve')
    expect(suggest('simualte', COMMANDS)).toBe('simulate')
  })

  it('finds a long flag name with a letter left out', () => {
    expect(suggest('househods', ['households', 'days', 'seed', 'difficulty'])).toBe('households')
  })

  it('ignores case', () => {
    expect(suggest('DEMO', COMMANDS)).toBe('demo')
    expect(suggest('Housholds', ['households'])).toBe('households')
  })

  it('suggests nothing for a name far from every candidate', () => {
    expect(suggest('frobnicate', COMMANDS)).toBeUndefined()
    expect(suggest('x', ['k', 'db'])).toBeUndefined()
    expect(suggest('', COMMANDS)).toBeUndefined()
    expect(suggest('serve', [])).toBeUndefined()
  })

  it('allows one edit in a short name and more in a long one', () => {
    expect(suggest('dbb', ['db'])).toBe('db')
    expect(suggest('dxy', ['db'])).toBeUndefined()
    expect(suggest('lookbak-dys', ['lookback-days'])).toBe('lookback-days')
  })

  it('takes the only candidate a name of three or more letters begins', () => {
    expect(suggest('house', ['households', 'days'])).toBe('households')
    expect(suggest('half', ['half-life', 'half-life-days'])).toBeUndefined()
  })

  it('prefers the nearest candidate, then the earlier one', () => {
    expect(suggest('eval', ['erase', 'eval'])).toBe('eval')
    expect(suggest('evl', ['eval', 'evil'])).toBe('eval')
  })

  it('counts a swap of neighbours as one edit (Damerau), unlike plain Levenshtein', () => {
    // Levenshtein("ab", "ba") = 2; optimal string alignment = 1
    expect(editDistance('ab', 'ba')).toBe(1)
    expect(editDistance('kitten', 'sitting')).toBe(3) // the textbook example
    expect(editDistance('', 'abc')).toBe(3)
    expect(editDistance('ca', 'abc')).toBe(3) // OSA, not unrestricted Damerau (which gives 2)
  })
})
