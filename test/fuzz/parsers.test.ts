/**
 * Time-bounded fuzzing of every parser: each property runs for about FUZZ_MS (default two
 * seconds; set SSTASH_FUZZ_MS for a longer run) and must hold for every input tried. The
 * common property: a parser returns or throws one of our errors, never anything else.
 */
import { spawnSync } from 'node:child_process'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SSError, Tree } from '../../src/index.js'
import { formatKeyPath, parseKeyPath } from '../../src/tree/key-path.js'
import { parseStash, createStash } from '../../src/format/stash-file.js'
import { decodeTree as decodeNative, encodeTree as encodeNative } from '../../src/tree/codec.js'
import { decodeTree as decodePython, encodeTree as encodePython } from '../../src/format/python.js'
import { formatCredential, parseCredential, parseCredentialUrl } from '../../src/git/protocol.js'
import { formatDotenv, formatShell, parseDotenv } from '../../src/env/dotenv.js'
import { envFromEntries, isDangerousName, type EnvVar } from '../../src/env/naming.js'
import { deriveKey } from '../../src/format/kdf.js'
import { TEST_KDF } from '../helpers.js'

const FUZZ_MS = Number(process.env.SSTASH_FUZZ_MS ?? 2_000)
// Many runs, cut off by time: the bound is the clock, not the count.
const BOUNDED = { numRuns: 1_000_000, interruptAfterTimeLimit: FUZZ_MS, markInterruptAsFailure: false } as const
const TIMEOUT = FUZZ_MS * 4 + 20_000

/** Runs `fn`; passes when it returns or throws an SSError, and fails on any other throw. */
function onlyOurErrors<T>(fn: () => T): T | undefined {
  try {
    return fn()
  } catch (error) {
    if (error instanceof SSError) return undefined
    throw error
  }
}

const segment = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom('a', '/', '\\', 'e', 'x', '0', 'f', '\u0000', '\u007f', 'é', '\ud800') }))
const keyPath = fc.array(segment, { minLength: 1, maxLength: 6 })

describe('key-path syntax', () => {
  it('reads back every key path it writes', () => {
    fc.assert(
      fc.property(keyPath, (key) => {
        expect(parseKeyPath(formatKeyPath(key))).toEqual(key)
      }),
      BOUNDED,
    )
  }, TIMEOUT)

  it('throws only SSError on any text, and what it accepts formats back to an equivalent path', () => {
    const text = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom('a', '/', '\\', 'e', 'x', '0', 'F', 'g', '\n') }))
    fc.assert(
      fc.property(text, (input) => {
        const key = onlyOurErrors(() => parseKeyPath(input))
        if (key !== undefined) expect(parseKeyPath(formatKeyPath(key))).toEqual(key)
      }),
      BOUNDED,
    )
  }, TIMEOUT)
})

describe('both file formats', () => {
  it('parseStash throws only SSError on random bytes and on random text', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 400 }),
      fc.string({ unit: 'binary-ascii' }).map((s) => new TextEncoder().encode(s)),
      fc.json().map((s) => new TextEncoder().encode(s)),
      fc.uint8Array({ maxLength: 300 }).map((tail) => new Uint8Array([...new TextEncoder().encode('sstash/1\n'), ...tail])),
    )
    fc.assert(fc.property(bytes, (input) => void onlyOurErrors(() => parseStash(input, 'fuzz'))), BOUNDED)
  }, TIMEOUT)

  it.each(['native', 'python'] as const)('a mutated %s file parses and unlocks to SSError or a valid tree, never anything else', async (format) => {
    const kdf = format === 'native' ? TEST_KDF : { name: 'pbkdf2-sha512' as const, iterations: 100 }
    const fresh = await createStash(kdf, 'pw')
    const tree = new Tree()
    tree.write(['a', 'b'], new Uint8Array([1, 2, 3]))
    tree.write(['__proto__'], new Uint8Array(0))
    const original = fresh.seal(tree)
    const locked = parseStash(original, 'fuzz')
    const key = await deriveKey(locked.kdf, 'pw', locked.salt)
    const mutation = fc.record({
      at: fc.nat(),
      kind: fc.constantFrom('flip', 'set', 'cut', 'insert', 'delete'),
      byte: fc.integer({ min: 0, max: 255 }),
      length: fc.integer({ min: 1, max: 16 }),
    })
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
        let bytes = Uint8Array.from(original)
        for (const m of mutations) {
          const at = m.at % (bytes.length + 1)
          if (m.kind === 'flip' && at < bytes.length) bytes[at] = (bytes[at] as number) ^ (1 << m.byte % 8)
          else if (m.kind === 'set' && at < bytes.length) bytes[at] = m.byte
          else if (m.kind === 'cut') bytes = bytes.slice(0, at)
          else if (m.kind === 'insert') bytes = new Uint8Array([...bytes.subarray(0, at), ...new Array<number>(m.length).fill(m.byte), ...bytes.subarray(at)])
          else if (m.kind === 'delete') bytes = new Uint8Array([...bytes.subarray(0, at), ...bytes.subarray(at + m.length)])
        }
        const parsed = onlyOurErrors(() => parseStash(bytes, 'fuzz'))
        // Only a file whose KDF inputs survived can be unlocked with the key we hold.
        if (parsed && parsed.keyId === locked.keyId) {
          const opened = onlyOurErrors(() => parsed.unlock(key))
          // A changed byte that still opens must be one the format ignores (none in native).
          if (opened && format === 'native') expect(Buffer.from(bytes).equals(Buffer.from(original))).toBe(true)
        }
      }),
      { ...BOUNDED, interruptAfterTimeLimit: FUZZ_MS / 2 },
    )
  }, TIMEOUT)

  it('the native tree decoder throws only SSError on any bytes, and reads back any tree', () => {
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      // Mostly small numbers, so that the decoder gets deep before failing.
      fc.array(fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 })), { maxLength: 200 }).map((a) => Uint8Array.from(a)),
    )
    fc.assert(fc.property(body, (bytes) => void onlyOurErrors(() => decodeNative(bytes))), BOUNDED)
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.array(fc.string({ unit: 'grapheme' }), { minLength: 1, maxLength: 4 }), fc.uint8Array({ maxLength: 20 })), { maxLength: 20 }), (entries) => {
        const tree = new Tree()
        for (const [key, value] of entries) tree.write(key, value)
        expect(decodeNative(encodeNative(tree)).entries([])).toEqual(tree.entries([]))
        // JSON objects put integer-like names first, so the Python format keeps every entry, not their order.
        const sorted = (t: Tree) => t.entries([]).sort((a, b) => (JSON.stringify(a.key) < JSON.stringify(b.key) ? -1 : 1))
        expect(sorted(decodePython(encodePython(tree)))).toEqual(sorted(tree))
      }),
      { ...BOUNDED, interruptAfterTimeLimit: FUZZ_MS / 2 },
    )
  }, TIMEOUT)

  it('the Python tree decoder throws only SSError on any JSON or bytes', () => {
    const plain = fc.oneof(
      fc.json({ maxDepth: 6 }).map((s) => new TextEncoder().encode(s)),
      fc.jsonValue({ maxDepth: 4 }).map((v) => new TextEncoder().encode(JSON.stringify({ a: { children: { b: v }, value: '00' } }))),
      fc.uint8Array({ maxLength: 100 }),
    )
    fc.assert(fc.property(plain, (bytes) => void onlyOurErrors(() => decodePython(bytes))), BOUNDED)
  }, TIMEOUT)
})

describe('the git credential protocol', () => {
  // Every way a line could be split that is not a plain LF.
  const separator = fc.constantFrom('\r', '\u2028', '\u2029', '\u0085', '\u000b', '\u000c', '\r\r\n', '\u0000', '%0a', '%0d', '%00')

  it('throws only SSError on any bytes, and never returns a value holding CR, LF or NUL', () => {
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.array(fc.tuple(fc.constantFrom('protocol', 'host', 'path', 'username', 'password', 'url', 'wwwauth[]', 'capability[]', 'state[]', 'x'), fc.string({ unit: 'binary' })), { maxLength: 8 }).map(
        (lines) => lines.map(([k, v]) => `${k}=${v}\n`).join(''),
      ),
    )
    fc.assert(
      fc.property(input, (bytes) => {
        const credential = onlyOurErrors(() => parseCredential(bytes))
        for (const value of Object.values(credential ?? {}).flat()) expect(/[\r\n\0]/.test(value as string)).toBe(false)
      }),
      BOUNDED,
    )
  }, TIMEOUT)

  it('never lets a value smuggle a second host, whatever separator it holds', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), separator, fc.constantFrom('host', 'url', 'path', 'username'), (prefix, sep, field) => {
        const value = field === 'url' ? `https://${prefix}${sep}host=evil.example/` : `${prefix}${sep}host=evil.example`
        const credential = onlyOurErrors(() => parseCredential(`protocol=https\nhost=good.example\n${field}=${value}\n`))
        if (credential === undefined) return
        // The value stays one attribute: the host is the good one, or the whole URL's host.
        if (field === 'host') expect(credential.host).toBe(value)
        else if (field !== 'url') expect(credential.host).toBe('good.example')
        else expect(credential.host).not.toBe('evil.example')
      }),
      BOUNDED,
    )
  }, TIMEOUT)

  it('parses any URL to SSError or parts free of control characters', () => {
    const url = fc.oneof(
      fc.webUrl({ withFragments: true, withQueryParameters: true }),
      fc.tuple(fc.constantFrom('https://', 'http://', 'ftp://', '://', 'x'), fc.string({ unit: fc.constantFrom('a', '@', ':', '/', '%', '0', 'a', 'd', '?', '#', '\n') })).map(([p, r]) => p + r),
      fc.string({ unit: 'binary' }),
    )
    fc.assert(
      fc.property(url, (text) => {
        const parts = onlyOurErrors(() => parseCredentialUrl(text))
        for (const value of Object.values(parts ?? {})) expect(/[\r\n\0]/.test(value as string)).toBe(false)
      }),
      BOUNDED,
    )
  }, TIMEOUT)

  it('refuses to write any value holding CR, LF or NUL', () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom('\r', '\n', '\0'), fc.string(), fc.constantFrom('host', 'username', 'password', 'path'), (a, c, b, field) => {
        expect(() => formatCredential({ [field]: `${a}${c}${b}` })).toThrow(SSError)
      }),
      BOUNDED,
    )
  }, TIMEOUT)
})

describe('environment names and .env export', () => {
  const VALID = /^[A-Za-z_][A-Za-z0-9_.-]*$/

  it('gives only valid, non-dangerous names (unless allowed), or an SSError', () => {
    const seg = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('A=B', '', '=', 'LD_PRELOAD', 'ld_preload', 'NODE_OPTIONS', 'node-options', 'PATH', 'BASH_ENV', 'dyld_insert_libraries', 'a b', '1x'))
    const input = fc.record({
      base: fc.array(seg, { maxLength: 2 }),
      rel: fc.array(fc.array(seg, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 5 }),
      prefix: fc.oneof(fc.constant(''), fc.constantFrom('APP_', 'A=B', 'LD_', 'NODE_', '1', ' '), fc.string({ maxLength: 4 })),
      allow: fc.subarray(['LD_PRELOAD', 'NODE_OPTIONS', 'PATH']),
    })
    fc.assert(
      fc.property(input, ({ base, rel, prefix, allow }) => {
        const entries = rel.map((r) => ({ key: [...base, ...r], value: new TextEncoder().encode('v') }))
        const vars = onlyOurErrors(() => envFromEntries(base, entries, { prefix, allow }))
        for (const v of vars ?? []) {
          expect(v.name).toMatch(VALID)
          if (isDangerousName(v.name)) expect(allow.map((n) => n.toUpperCase())).toContain(v.name.toUpperCase())
        }
      }),
      BOUNDED,
    )
  }, TIMEOUT)

  const envVar = fc.record({ name: fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,8}$/), value: fc.string({ unit: 'binary' }).filter((s) => !s.includes('\0')) })
  const vars = fc.uniqueArray(envVar, { selector: (v) => v.name, maxLength: 6 }).map((list) => list.map((v): EnvVar => ({ ...v, key: ['k', v.name] })))

  it('writes .env text that dotenv reads back exactly, or refuses with an SSError', () => {
    fc.assert(
      fc.property(vars, (list) => {
        const text = onlyOurErrors(() => formatDotenv(list))
        if (text === undefined) return
        const back = parseDotenv(text)
        for (const v of list) expect(back.get(v.name)).toBe(v.value)
        expect(back.size).toBe(list.length)
      }),
      BOUNDED,
    )
  }, TIMEOUT)

  it('writes shell text that a real sh evaluates to exactly the values', () => {
    const samples = fc.sample(vars.map((list) => list.map((v) => ({ ...v, value: v.value.replace(/[\ud800-\udfff]/g, '?') }))), 40).flat()
    const unique = [...new Map(samples.map((v) => [v.name, v])).values()].filter((v) => !['PATH', 'IFS', 'PS4', 'ENV', 'HOME', 'PWD', 'OLDPWD', 'SHLVL', 'OPTIND', 'PPID', 'LINENO', '_'].includes(v.name))
    const script = `${formatShell(unique)}\n${unique.map((v) => `printf '%s\\0' "$${v.name}"`).join('\n')}\n`
    const result = spawnSync('sh', ['-c', script], { encoding: 'utf8', env: {} })
    expect(result.status).toBe(0)
    expect(result.stdout.split('\0').slice(0, -1)).toEqual(unique.map((v) => v.value))
  })
})
