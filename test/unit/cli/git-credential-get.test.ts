/**
 * The git helper's small half scans its argv by hand (./git-credential-get.ts says why): the
 * scan may only accept a line that src/cli/argv.ts, the full helper's parser, reads the same
 * way: `get` and the same --stash and --prefix. Anything else goes to the full helper.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseArgv } from '../../../src/cli/argv.js'
import { plainGet } from '../../../src/cli/git-credential-get.js'

const FULL = [
  { names: ['stash'], takesValue: true },
  { names: ['prefix'], takesValue: true },
  { names: ['h', 'help'], takesValue: false },
]
const WORDS = ['get', 'store', '--stash', '--prefix', '--stash=', '--stash=s.sstash', '--prefix=git', '--prefix=a/b', 's.sstash', '-x', '-', '--', '--nope', '-h', '', 'get\ufffd', '007']

/** What the full helper reads from `argv`, when it is a plain get; else undefined. */
function fullReading(argv: string[]): { stash?: string; prefix?: string } | undefined {
  const { options, args, rest, error } = parseArgv(argv, FULL, { unknown: 'keep' })
  const { stash, prefix, ...other } = options
  const words = [...args, ...(rest ?? [])]
  if (error !== undefined || Object.keys(other).length > 0 || words.length !== 1 || words[0] !== 'get') return undefined
  return { ...(stash === true ? {} : stash && { stash: stash.at(-1) }), ...(prefix === true ? {} : prefix && { prefix: prefix.at(-1) }) }
}

describe('git-credential-get: the fast scan of argv', () => {
  it('accepts only lines the full helper reads as the same plain get', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...WORDS), { maxLength: 6 }), (argv) => {
        const fast = plainGet(argv)
        if (fast !== undefined) expect(fullReading(argv)).toEqual(fast)
      }),
      { numRuns: 3000 },
    )
  })

  it('takes the common lines git runs, each option as two words or with =, the last one winning', () => {
    expect(plainGet(['get'])).toEqual({})
    expect(plainGet(['--stash', '007', 'get'])).toEqual({ stash: '007' })
    expect(plainGet(['--stash=a', '--prefix', 'git/work', '--stash=b', 'get'])).toEqual({ stash: 'b', prefix: 'git/work' })
    for (const other of [['store'], ['--', 'get'], ['get', 'x'], ['--stash', '', 'get'], ['--nope', 'get'], ['-h', 'get']]) expect(plainGet(other)).toBeUndefined()
  })
})
