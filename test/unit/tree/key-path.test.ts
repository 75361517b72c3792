import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { formatKeyPath, parseKeyPath } from '../../../src/tree/key-path.js'
import { SSError } from '../../../src/errors.js'

describe('key path syntax', () => {
  it.each([
    ['project/SomeService/token1', ['project', 'SomeService', 'token1']],
    ['', []],
    ['/', []],
    ['a/', ['a']],
    ['with\\/slash/back\\\\slash', ['with/slash', 'back\\slash']],
    ['a/\\e/b', ['a', '', 'b']],
    ['\\e', ['']],
    ['tab\\x09name', ['tab\tname']],
    ['a\\u202Eb/\\u2066', ['a\u202Eb', '\u2066']],
    ['unicodé/密码/🔑', ['unicodé', '密码', '🔑']],
    ['with space/with=equals', ['with space', 'with=equals']],
  ])('reads %j', (text, key) => {
    expect(parseKeyPath(text)).toEqual(key)
  })

  it.each([
    ['a//b', 'empty segment'],
    ['/a', 'empty segment'],
    ['a\\', 'lone backslash'],
    ['a\\q', 'unknown escape'],
    ['a\\eb', '\\e must be a whole segment'],
    ['a\\x4', 'two hex digits'],
    ['a\\u20', 'four hex digits'],
  ])('refuses %j with a clear error', (text, why) => {
    expect(() => parseKeyPath(text)).toThrow(SSError)
    expect(() => parseKeyPath(text)).toThrow(why)
  })

  it('reads back exactly what it writes, for any key path', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }), { minLength: 1, maxLength: 5 }), (key) => {
        expect(parseKeyPath(formatKeyPath(key))).toEqual(key)
      }),
      { numRuns: 2000 },
    )
  })

  it('prints no character that makes a key path read as another: controls, bidi controls and line separators are escaped', () => {
    const sneaky = ['\x1b[2J', '\x9b2J', 'evil\u202Egnp.exe', '\u2066x\u2069', 'a\u2028b', '\u200Fz']
    for (const segment of sneaky) {
      const shown = formatKeyPath(['dev', segment])
      expect(shown).toMatch(/^[\x20-\x7e]+$/)
      expect(parseKeyPath(shown)).toEqual(['dev', segment])
    }
  })

  it('throws nothing but SSError on any input', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '/', '\\', 'e', 'x', 'u', '0', 'f', 'g') }), (text) => {
        try {
          parseKeyPath(text)
        } catch (error) {
          expect(error).toBeInstanceOf(SSError)
        }
      }),
      { numRuns: 2000 },
    )
  })
})
