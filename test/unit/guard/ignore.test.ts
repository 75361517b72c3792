/** `.sstashguardignore`: the subset of gitignore's syntax it reads. Pure. */
import { describe, expect, it } from 'vitest'
import { ignoredBy, parseIgnore } from '../../../src/guard/ignore.js'

describe('.sstashguardignore', () => {
  it('matches as gitignore does, the last matching pattern winning', () => {
    const rules = parseIgnore(['# fixtures of the tests', 'test/fixtures/', '*.snap', '/top.txt', 'docs/**/example.env', '!docs/keep/example.env', 'key?.pem', 'data[0-9].json', '\\#hash', '', '   '].join('\n'))
    const table: [string, string | undefined][] = [
      ['test/fixtures/a.txt', 'test/fixtures/'],
      ['test/fixtures/deep/b.txt', 'test/fixtures/'],
      ['test/fixtures', undefined],
      ['src/x.snap', '*.snap'],
      ['x.snap', '*.snap'],
      ['top.txt', '/top.txt'],
      ['sub/top.txt', undefined],
      ['docs/example.env', 'docs/**/example.env'],
      ['docs/a/b/example.env', 'docs/**/example.env'],
      ['docs/keep/example.env', undefined],
      ['key1.pem', 'key?.pem'],
      ['key10.pem', undefined],
      ['data7.json', 'data[0-9].json'],
      ['dataX.json', undefined],
      ['#hash', '\\#hash'],
      ['src/main.ts', undefined],
    ]
    for (const [path, pattern] of table) expect(ignoredBy(rules, path), path).toBe(pattern)
  })

  it('matches a hostile pattern against a long path in bounded time, as a committed file could hold one', () => {
    const rules = parseIgnore(`${'*a'.repeat(40)}*b\n${'**/'.repeat(40)}x*y*z\n`)
    const path = `${'a/'.repeat(200)}${'a'.repeat(255)}`
    const start = performance.now()
    expect(ignoredBy(rules, path)).toBeUndefined()
    expect(performance.now() - start).toBeLessThan(500)
  })

  it('skips a pattern it cannot compile instead of failing', () => {
    expect(() => parseIgnore('[z-a]\nok.txt')).not.toThrow()
    expect(ignoredBy(parseIgnore('[z-a]\nok.txt'), 'ok.txt')).toBe('ok.txt')
  })
})
