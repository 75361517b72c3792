/**
 * The error codes: one list in the type (the compiler refuses a thrown code that is not in it),
 * one table for users, and they agree.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SSError, errno, ioError, reasonOf } from '../../src/errors.js'
import { ROOT } from '../helpers.js'

/** The codes of the SSErrorCode union, read from its source. */
function unionCodes(): string[] {
  const source = readFileSync(join(ROOT, 'src/errors.ts'), 'utf8')
  const union = /export type SSErrorCode =([\s\S]*?)\n\n/.exec(source)?.[1] ?? ''
  return [...union.matchAll(/\|\s*'([A-Z0-9_]+)'/g)].map((m) => m[1] as string)
}

describe('error codes', () => {
  it('lists every code of the SSErrorCode type in the table of docs/ERRORS.md, and no other', () => {
    const doc = readFileSync(join(ROOT, 'docs/ERRORS.md'), 'utf8')
    const documented = [...doc.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1])
    expect(unionCodes().length).toBeGreaterThan(30)
    expect([...documented].sort()).toEqual([...unionCodes()].sort())
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
