import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Masker } from '../../../src/env/mask.js'

/** Feeds `text` to a masker cut at `cuts` (byte offsets) and returns the output. */
function maskInChunks(values: string[], text: string, cuts: number[]): string {
  const bytes = Buffer.from(text)
  const masker = new Masker(values)
  const out: Buffer[] = []
  let at = 0
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    out.push(masker.push(bytes.subarray(at, Math.max(at, cut))))
    at = Math.max(at, cut)
  }
  out.push(masker.push(bytes.subarray(at)), masker.end())
  return Buffer.concat(out).toString()
}

describe('masking', () => {
  it('replaces each value with *****', () => {
    expect(maskInChunks(['s3cret'], 'token=s3cret and s3cret.', [])).toBe('token=***** and *****.')
  })

  it('finds a value split across chunks, even inside a multi-byte character', () => {
    const text = 'a pässwörd😀 here'
    for (let cut = 0; cut <= Buffer.byteLength(text); cut++) expect(maskInChunks(['pässwörd😀'], text, [cut])).toBe('a ***** here')
  })

  it('hides the longer of two values that start at one place', () => {
    expect(maskInChunks(['abc', 'abcdef'], 'xabcdefx', [3])).toBe('x*****x')
  })

  it('passes output through untouched when no value occurs, whatever the chunks (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.array(fc.nat(60)), (text, cuts) => {
        expect(maskInChunks(['\u0001never\u0002'], text, cuts)).toBe(text)
      }),
    )
  })

  it('never lets a value through, whatever the chunks (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 3, maxLength: 8 }).filter((s) => !s.includes('*')), fc.array(fc.string({ maxLength: 6 }), { maxLength: 5 }), fc.array(fc.nat(80)), (secret, parts, cuts) => {
        const text = parts.join(secret)
        const masked = maskInChunks([secret], text, cuts)
        // (A value holding `*` could be rebuilt from the mask itself, hence the filter.)
        expect(masked.includes(secret)).toBe(false)
      }),
    )
  })

  it('ignores empty values', () => {
    expect(maskInChunks(['', 'x'], 'axb', [])).toBe('a*****b')
  })
})
