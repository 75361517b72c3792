import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Tree } from '../../../src/tree/tree.js'
import { SSKeyError, SSValueError } from '../../../src/errors.js'

const b = (s: string): Uint8Array => new TextEncoder().encode(s)

// The Python package's own InnerStash tests, ported.
describe('the tree, as the Python package tests it', () => {
  it('writes and reads back a value', () => {
    const tree = new Tree()
    tree.write(['hello', 'world'], b('check'))
    expect(tree.read(['hello', 'world'])).toEqual(b('check'))
  })

  it('throws SSKeyError for a missing key and for the empty key', () => {
    const tree = new Tree()
    expect(() => tree.read(['hello', 'world'])).toThrow(SSKeyError)
    expect(() => tree.read([])).toThrow(SSKeyError)
  })

  it('refuses values that are not bytes', () => {
    const tree = new Tree()
    for (const bad of [3, 'A string!', {}, null, [1, 2]]) expect(() => tree.write(['hello', 'world'], bad as never)).toThrow(SSValueError)
  })

  it('keeps values on inner nodes and leaves alike', () => {
    const tree = new Tree()
    tree.write(['a', 'b', 'c'], b('abc'))
    tree.write(['a', 'b'], b('ab'))
    tree.write(['a', 'b', 'd'], b('abd'))
    tree.write(['a', 'b', 'd', 'e'], b('abde'))
    expect(tree.read(['a', 'b', 'c'])).toEqual(b('abc'))
    expect(tree.read(['a', 'b'])).toEqual(b('ab'))
    expect(tree.read(['a', 'b', 'd'])).toEqual(b('abd'))
    expect(tree.read(['a', 'b', 'd', 'e'])).toEqual(b('abde'))
    const error = (() => {
      try {
        tree.read(['a'])
      } catch (e) {
        return e as SSKeyError
      }
    })()
    expect(error).toBeInstanceOf(SSKeyError)
    expect(error?.code).toBe('NO_VALUE')
    expect(error?.message).toBe('key a holds no value')
  })

  it('removes a subtree and returns the removed value or undefined', () => {
    const tree = new Tree()
    tree.write(['a', 'b', 'c'], b('abc'))
    expect(tree.remove(['a', 'b'])).toBeUndefined()
    expect(() => tree.read(['a', 'b', 'c'])).toThrow(SSKeyError)
    tree.write(['a', 'b', 'c'], b('abc'))
    tree.write(['a', 'b'], b('ab'))
    expect(tree.remove(['a', 'b'])).toEqual(b('ab'))
    expect(() => tree.read(['a', 'b', 'c'])).toThrow(SSKeyError)
    tree.write(['a', 'b', 'c'], b('abc'))
    tree.write(['a', 'b'], b('ab'))
    expect(tree.remove(['a', 'b', 'c'])).toEqual(b('abc'))
    expect(tree.read(['a', 'b'])).toEqual(b('ab'))
    expect(() => tree.remove(['d', 'e', 'f'])).toThrow(SSKeyError)
  })

  it('empties the whole tree when removing the empty key', () => {
    const tree = new Tree()
    tree.write(['a'], b('1'))
    tree.write(['b', 'c'], b('2'))
    expect(tree.remove([])).toBeUndefined()
    expect(tree.children([])).toEqual([])
  })

  it('lists children', () => {
    const tree = new Tree()
    tree.write(['a', 'b', 'c'], b('abc'))
    tree.write(['a', 'b'], b('ab'))
    tree.write(['a', 'b', 'd'], b('abd'))
    tree.write(['a', 'b', 'd', 'e'], b('abde'))
    tree.write(['a', 'b', 'f'], b('abf'))
    expect(tree.children(['a'])).toEqual(['b'])
    expect(tree.children(['a', 'b']).sort()).toEqual(['c', 'd', 'f'])
    expect(tree.children(['a', 'b', 'd', 'e'])).toEqual([])
    expect(tree.children(['a', 'b', 'd'])).toEqual(['e'])
    expect(tree.children([])).toEqual(['a'])
    expect(() => tree.children(['r', 'q'])).toThrow(SSKeyError)
  })
})

describe('the tree', () => {
  it('treats __proto__, constructor, empty and dot segments as plain data', () => {
    const tree = new Tree()
    const keys = [['__proto__'], ['constructor', 'prototype'], [''], ['..', '.'], ['a/b', 'c\0d'], ['ключ', '🔑']]
    keys.forEach((key, i) => tree.write(key, b(String(i))))
    keys.forEach((key, i) => expect(tree.read(key)).toEqual(b(String(i))))
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty('prototype')
  })

  it('moves a subtree and refuses to move onto an existing key or into itself', () => {
    const tree = new Tree()
    tree.write(['a', 'x'], b('1'))
    tree.write(['b'], b('2'))
    tree.move(['a'], ['c', 'd'])
    expect(tree.read(['c', 'd', 'x'])).toEqual(b('1'))
    expect(() => tree.move(['c'], ['b'])).toThrow(SSKeyError)
    expect(() => tree.move(['c'], ['c', 'd', 'e'])).toThrow(SSKeyError)
    expect(() => tree.move(['missing'], ['z'])).toThrow(SSKeyError)
  })

  it('refuses key paths that are not arrays of well-formed strings', () => {
    const tree = new Tree()
    for (const bad of ['a', [1], [null], ['\ud800'], new Array(300).fill('a')]) expect(() => tree.write(bad as never, b('x'))).toThrow(SSKeyError)
  })

  it('behaves like a simple map-of-paths model under random operations', () => {
    const segment = fc.constantFrom('a', 'b', '', '__proto__', 'é')
    const key = fc.array(segment, { minLength: 1, maxLength: 3 })
    const op = fc.oneof(
      fc.record({ kind: fc.constant('write' as const), key, value: fc.uint8Array({ maxLength: 4 }) }),
      fc.record({ kind: fc.constant('remove' as const), key }),
      fc.record({ kind: fc.constant('read' as const), key }),
      fc.record({ kind: fc.constant('children' as const), key: fc.array(segment, { maxLength: 2 }) }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const tree = new Tree()
        // The model: a map from JSON key path to value, plus the set of existing nodes.
        const values = new Map<string, Uint8Array>()
        const nodes = new Set<string>()
        const id = (k: string[]): string => JSON.stringify(k)
        const isUnder = (k: string[], prefix: string[]): boolean => k.length >= prefix.length && prefix.every((s, i) => k[i] === s)
        for (const o of ops) {
          if (o.kind === 'write') {
            tree.write(o.key, o.value)
            values.set(id(o.key), o.value)
            for (let i = 1; i <= o.key.length; i++) nodes.add(id(o.key.slice(0, i)))
          } else if (o.kind === 'remove') {
            if (!nodes.has(id(o.key))) {
              expect(() => tree.remove(o.key)).toThrow(SSKeyError)
              continue
            }
            expect(tree.remove(o.key)).toEqual(values.get(id(o.key)))
            for (const n of [...nodes]) if (isUnder(JSON.parse(n), o.key)) nodes.delete(n)
            for (const v of [...values.keys()]) if (isUnder(JSON.parse(v), o.key)) values.delete(v)
          } else if (o.kind === 'read') {
            const want = values.get(id(o.key))
            if (want) expect(tree.read(o.key)).toEqual(want)
            else expect(() => tree.read(o.key)).toThrow(SSKeyError)
          } else {
            if (o.key.length > 0 && !nodes.has(id(o.key))) {
              expect(() => tree.children(o.key)).toThrow(SSKeyError)
              continue
            }
            const want = [...nodes].map((n) => JSON.parse(n) as string[]).filter((n) => n.length === o.key.length + 1 && isUnder(n, o.key))
            expect(tree.children(o.key).sort()).toEqual(want.map((n) => n[n.length - 1]).sort())
          }
        }
        const listed = tree.entries([]).map((e) => [id(e.key), e.value] as const)
        expect(new Map(listed)).toEqual(values)
      }),
      { numRuns: 300 },
    )
  })
})

describe('a key that is not in the tree', () => {
  const tree = new Tree()
  tree.write(['project', 'api', 'token'], b('t'))
  tree.write(['my dir', 'it\'s'], b('x'))
  const caught = (fn: () => unknown): SSKeyError => {
    try {
      fn()
    } catch (error) {
      return error as SSKeyError
    }
    throw new Error('no error')
  }

  it('is named by its whole key path in the command-line spelling, with a hint to the nearest parent that exists', () => {
    const error = caught(() => tree.read(['project', 'api', 'tokn']))
    expect(error).toBeInstanceOf(SSKeyError)
    expect(error).toMatchObject({ code: 'KEY_NOT_FOUND', key: ['project', 'api', 'tokn'] })
    expect(error.message).toBe('key project/api/tokn was not found in the stash')
    expect(error.hint).toBe('`sstash ls project/api` lists what project/api holds')
    expect(caught(() => tree.read(['project', 'web', 'token'])).hint).toBe('`sstash ls project` lists what project holds')
    expect(caught(() => tree.children(['nope', 'deeper']))).toMatchObject({
      message: 'key nope/deeper was not found in the stash',
      hint: '`sstash ls` lists the keys at the top of the stash',
    })
  })

  it('is written so that the hint pastes into a shell and the message parses back', () => {
    const error = caught(() => tree.read(['my dir', 'it\'s', 'a/b', '']))
    expect(error.message).toBe('key my dir/it\'s/a\\/b/\\e was not found in the stash')
    expect(error.hint).toBe('`sstash ls \'my dir/it\'\\\'\'s\'` lists what my dir/it\'s holds')
  })

  it('is named the same way by remove and move', () => {
    expect(caught(() => tree.remove(['project', 'nope'])).message).toBe('key project/nope was not found in the stash')
    expect(caught(() => tree.move(['project', 'nope'], ['x'])).message).toBe('key project/nope was not found in the stash')
    expect(caught(() => tree.move(['project'], ['my dir'])).message).toBe('key my dir already exists')
  })
})
