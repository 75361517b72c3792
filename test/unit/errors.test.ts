/**
 * The error codes: one list in the type (the compiler refuses a thrown code that is not in it),
 * one table for users, and they agree.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { EXIT_STATUS, SSCryptoError, SSError, SSKeyError, errno, ioError, reasonOf, type SSErrorCode } from '../../src/errors.js'
import { exitCodeOf } from '../../src/cli/exit.js'
import { ROOT } from '../helpers.js'

/** The rows of docs/ERRORS.md's table of codes: code and exit status, in the order written. */
function documentedCodes(): [string, number][] {
  const doc = readFileSync(join(ROOT, 'docs/ERRORS.md'), 'utf8')
  return [...doc.matchAll(/^\| `([A-Z0-9_]+)` \| (\d+) \|/gm)].map((m) => [m[1] as string, Number(m[2])])
}

/** Each name that occurs more than once in `names`. */
const duplicates = (names: readonly string[]): string[] => names.filter((name, i) => names.indexOf(name) !== i)

describe('error codes', () => {
  it('documents every code of EXIT_STATUS in docs/ERRORS.md once, with the exit status the binaries use, and no other code', () => {
    const documented = documentedCodes()
    expect(Object.keys(EXIT_STATUS).length).toBeGreaterThan(30)
    expect(duplicates(documented.map(([code]) => code)), 'codes listed twice in docs/ERRORS.md').toEqual([])
    expect(Object.fromEntries(documented)).toEqual(EXIT_STATUS)
  })

  it('finds a code listed twice, in the docs or in the source', () => {
    expect(duplicates(['A', 'B', 'A'])).toEqual(['A'])
    // The union is the keys of one object literal, so a second line for a code does not compile (TS1117).
    const source = readFileSync(join(ROOT, 'src/errors.ts'), 'utf8')
    const table = /export const EXIT_STATUS = \{([\s\S]*?)\n\}/.exec(source)?.[1] ?? ''
    const names = [...table.matchAll(/^ {2}([A-Z0-9_]+):/gm)].map((m) => m[1] as string)
    expect(names.length).toBe(Object.keys(EXIT_STATUS).length)
    expect(duplicates(names)).toEqual([])
  })

  it("exits each error with its code's status from the table, whatever its class", () => {
    expect(exitCodeOf(new SSError('x', 'KEY_CHANGED'))).toBe(4)
    expect(exitCodeOf(new SSCryptoError('x', 'KEY_CHANGED'))).toBe(4)
    expect(exitCodeOf(new SSError('x', 'TEAM_TAMPERED'))).toBe(4)
    expect(exitCodeOf(new SSCryptoError('x', 'TEAM_TAMPERED'))).toBe(4)
    expect(exitCodeOf(new SSError('x', 'NOT_A_STASH'))).toBe(4)
    expect(exitCodeOf(new SSError('x', 'KEY_NOT_FOUND'))).toBe(3)
    expect(exitCodeOf(new SSKeyError('x', ['a'], 'BAD_KEY'))).toBe(1)
    expect(exitCodeOf(new SSError('x', 'USAGE'))).toBe(2)
    expect(exitCodeOf(new SSError('x', 'COMMAND_NOT_FOUND'))).toBe(127)
    expect(exitCodeOf(new Error('a bug'))).toBe(1)
    for (const [code, status] of Object.entries(EXIT_STATUS)) expect(exitCodeOf(new SSError('x', code as SSErrorCode)), code).toBe(status)
  })

  it('says what a system error means in words, never its raw code', () => {
    const missing = (() => {
      try {
        readFileSync('/nonexistent/sstash')
      } catch (error) {
        return error
      }
    })()
    expect(errno(missing)).toBe('ENOENT')
    expect(reasonOf(missing)).toBe('no such file or directory')
    const error = ioError('read', '/nonexistent/sstash', missing)
    expect(error).toBeInstanceOf(SSError)
    expect(error.message).toBe('cannot read /nonexistent/sstash: no such file or directory')
    expect(error.code).toBe('IO_ERROR')
    expect(error.cause).toBe(missing)
  })

  it('keeps a hint given to the error, for the binaries to print', () => {
    const error = new SSError('no stash at x', 'STASH_NOT_FOUND', { hint: 'run `sstash init`' })
    expect(error.hint).toBe('run `sstash init`')
    expect(new SSError('plain', 'IO_ERROR').hint).toBeUndefined()
  })
})
