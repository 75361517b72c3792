/**
 * Hostile input against both file formats, through the library: every case must end in
 * one of our errors (never a crash, a hang, or a long key derivation), and reading must
 * not change the file.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SSCryptoError, SSError, SecureStash, Tree } from '../../src/index.js'
import { TreeNode } from '../../src/tree/tree.js'
import { parseStash, createStash } from '../../src/format/stash-file.js'
import { encodeTree as encodeNativeTree } from '../../src/tree/codec.js'
import { seal } from '../../src/crypto/secretbox.js'
import { hmac, randomBytes, subkey } from '../../src/crypto/primitives.js'
import { deriveKey, type Pbkdf2Params, type ScryptParams } from '../../src/format/kdf.js'
import { MAX_DEPTH } from '../../src/tree/tree.js'
import { PYTHON_TEST_KDF, TEST_KDF, makeStash, tempDir } from '../helpers.js'

const dir = tempDir()
const PASSWORD = 'correct horse'
const CHEAP: ScryptParams = { name: 'scrypt', N: 1024, r: 8, p: 1 }
const enc = (text: string): Uint8Array => new TextEncoder().encode(text)
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')

/** Asserts that `fn` throws an SSError (optionally with `code`) and returns it. */
function expectSSError(fn: () => unknown, code?: string): SSError {
  let caught: unknown
  try {
    fn()
  } catch (error) {
    caught = error
  }
  expect(caught, 'expected an SSError').toBeInstanceOf(SSError)
  if (code !== undefined) expect((caught as SSError).code).toBe(code)
  return caught as SSError
}

/**
 * Builds a native file with a chosen header object and chosen body plaintext, keyed with the
 * real password: the crafted content passes every cryptographic check, so only the parser's
 * own checks stand between it and the tree.
 */
async function craftNative(options: { header?: (recipient: Record<string, unknown>) => unknown; body?: Uint8Array } = {}): Promise<Uint8Array> {
  const salt = randomBytes(32)
  const key = await deriveKey(CHEAP, PASSWORD, salt)
  const fileKey = randomBytes(32)
  const recipient: Record<string, unknown> = { type: 'scrypt', salt: b64(salt), N: CHEAP.N, r: CHEAP.r, p: CHEAP.p, wrappedKey: b64(seal(key, fileKey)) }
  const header = options.header ? options.header(recipient) : { recipients: [recipient] }
  const headerBytes = Buffer.concat([Buffer.from('sstash/1\n'), Buffer.from(`${JSON.stringify(header)}\n`)])
  const headerMac = hmac(subkey(fileKey, 'sstash/1 header'), headerBytes)
  const body = seal(subkey(fileKey, 'sstash/1 body'), options.body ?? encodeNativeTree(new Tree()))
  return new Uint8Array(Buffer.concat([headerBytes, headerMac, body]))
}

/** A Python-format file whose plaintext is `plain`, under the password. */
async function craftPython(plain: Uint8Array, outer: Record<string, unknown> = {}): Promise<Uint8Array> {
  const salt = randomBytes(32)
  const key = await deriveKey(PYTHON_TEST_KDF, PASSWORD, salt)
  const fields = { hash: 'sha512', salt: Buffer.from(salt).toString('hex'), iterations: (PYTHON_TEST_KDF as Pbkdf2Params).iterations, enc_blob: Buffer.from(seal(key, plain)).toString('hex'), ...outer }
  return enc(JSON.stringify(fields))
}

/** Writes `bytes` to a fresh file, opens it with the password, and checks the file is unchanged. */
async function openCrafted(bytes: Uint8Array): Promise<SecureStash> {
  const path = join(dir, `crafted-${Math.random().toString(36).slice(2)}.sstash`)
  writeFileSync(path, bytes, { mode: 0o600 })
  try {
    return await SecureStash.open(path, PASSWORD, { create: false })
  } finally {
    // Buffer.equals: a deep toEqual over megabytes takes vitest many seconds.
    expect(readFileSync(path).equals(bytes)).toBe(true)
  }
}

// varint as the native body writes it
function varint(n: number): number[] {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
  return out
}

describe('a wrong password', () => {
  it('fails a native stash with the same error as a damaged file', async () => {
    const path = join(dir, 'wrong-native.sstash')
    await makeStash(path, PASSWORD, { a: 'secret' })
    const error = await SecureStash.open(path, 'not it').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SSCryptoError)
    expect((error as SSError).message).toMatch(/wrong password or damaged file/)
  })

  it('fails a Python-format stash with the same error', async () => {
    const path = join(dir, 'wrong-python.sstash')
    const stash = await SecureStash.create(path, PASSWORD, { kdf: PYTHON_TEST_KDF })
    await stash.writeValue(['a'], enc('secret'))
    const error = await SecureStash.open(path, 'not it').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SSCryptoError)
    expect((error as SSError).message).toMatch(/wrong password or damaged file/)
  })
})

describe('a native header that is not what version 1 writes', () => {
  const valid = {
    type: 'scrypt',
    salt: b64(new Uint8Array(32)),
    N: 1024,
    r: 8,
    p: 1,
    wrappedKey: b64(new Uint8Array(72)),
  }
  const native = (headerText: string, tail = new Uint8Array(200)): Uint8Array =>
    new Uint8Array(Buffer.concat([Buffer.from(`sstash/1\n${headerText}\n`), tail]))
  const withRecipient = (patch: Record<string, unknown>, drop: string[] = []): Uint8Array => {
    const recipient: Record<string, unknown> = { ...valid, ...patch }
    for (const name of drop) delete recipient[name]
    return native(JSON.stringify({ recipients: [recipient] }))
  }

  it('accepts the well-formed header used as the base of these cases', () => {
    expect(parseStash(withRecipient({}), 'f').kdf).toEqual(CHEAP)
  })

  it.each([
    ['not JSON', '{recipients:'],
    ['empty', ''],
    ['a JSON array', '[]'],
    ['JSON null', 'null'],
    ['a JSON string', '"recipients"'],
    ['an empty object', '{}'],
    ['an extra top-level field', JSON.stringify({ recipients: [valid], version: 2 })],
    ['a __proto__ field', `{"recipients":[${JSON.stringify(valid)}],"__proto__":{"polluted":true}}`],
    ['recipients as an object', JSON.stringify({ recipients: valid })],
    ['no recipient', JSON.stringify({ recipients: [] })],
    ['two recipients', JSON.stringify({ recipients: [valid, valid] })],
    ['a recipient that is null', JSON.stringify({ recipients: [null] })],
    ['a recipient that is an array', JSON.stringify({ recipients: [[]] })],
  ])('refuses a header that is %s', (_name, text) => {
    expectSSError(() => parseStash(native(text), 'f'), 'NOT_A_STASH')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('refuses a header line that is not UTF-8', () => {
    const bytes = new Uint8Array(Buffer.concat([Buffer.from('sstash/1\n{"recipients":"\xff'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n'), new Uint8Array(100)]))
    expectSSError(() => parseStash(bytes, 'f'), 'NOT_A_STASH')
  })

  it('refuses a header line longer than 64 KiB without reading on', () => {
    const bytes = new Uint8Array(Buffer.concat([Buffer.from('sstash/1\n'), Buffer.alloc(200_000, 0x20), Buffer.from('\n')]))
    expectSSError(() => parseStash(bytes, 'f'), 'NOT_A_STASH')
  })

  it('refuses a file that is only the magic line', () => {
    expectSSError(() => parseStash(enc('sstash/1\n'), 'f'), 'NOT_A_STASH')
  })

  it.each(['type', 'salt', 'N', 'r', 'p', 'wrappedKey'])('refuses a recipient missing "%s"', (field) => {
    expectSSError(() => parseStash(withRecipient({}, [field]), 'f'), field === 'type' ? 'UNSUPPORTED_FORMAT' : 'NOT_A_STASH')
  })

  it('refuses a recipient with an extra field', () => {
    expectSSError(() => parseStash(withRecipient({ kdf: 'argon2' }), 'f'), 'NOT_A_STASH')
  })

  it.each([
    ['type', 'argon2id', 'UNSUPPORTED_FORMAT'],
    ['type', 'X25519', 'UNSUPPORTED_FORMAT'],
    ['type', 1, 'UNSUPPORTED_FORMAT'],
    ['N', '1024', 'NOT_A_STASH'],
    ['N', null, 'NOT_A_STASH'],
    ['N', [1024], 'NOT_A_STASH'],
    ['r', true, 'NOT_A_STASH'],
    ['p', { value: 1 }, 'NOT_A_STASH'],
    ['salt', 12, 'NOT_A_STASH'],
    ['salt', b64(new Uint8Array(31)), 'NOT_A_STASH'],
    ['salt', b64(new Uint8Array(33)), 'NOT_A_STASH'],
    ['salt', b64(new Uint8Array(32)).replace(/=$/, ''), 'NOT_A_STASH'],
    ['salt', `${b64(new Uint8Array(32))}\n`, 'NOT_A_STASH'],
    ['salt', Buffer.alloc(32).toString('base64url'), 'NOT_A_STASH'],
    ['wrappedKey', b64(new Uint8Array(71)), 'NOT_A_STASH'],
    ['wrappedKey', '', 'NOT_A_STASH'],
    ['wrappedKey', null, 'NOT_A_STASH'],
  ])('refuses a recipient whose "%s" is %j', (field, value, code) => {
    expectSSError(() => parseStash(withRecipient({ [field]: value }), 'f'), code)
  })

  it('refuses a later version of the native format as unsupported, naming it', () => {
    const bytes = new Uint8Array(Buffer.concat([Buffer.from(`sstash/2\n${JSON.stringify({ recipients: [valid] })}\n`), new Uint8Array(100)]))
    const error = expectSSError(() => parseStash(bytes, 'f'), 'UNSUPPORTED_FORMAT')
    expect(error.message).toMatch(/sstash\/2/)
  })
})

describe('absurd key derivation parameters', () => {
  // Refused before any derivation: a tampered file must not buy minutes of CPU or gigabytes.
  const cases: Array<[string, Record<string, unknown>]> = [
    ['N = 0', { N: 0 }],
    ['N = 1', { N: 1 }],
    ['N negative', { N: -1024 }],
    ['N not a power of two', { N: 1000 }],
    ['N fractional', { N: 1024.5 }],
    ['N = 2^21', { N: 2 ** 21 }],
    ['N = 2^40', { N: 2 ** 40 }],
    ['N = 2^53', { N: 2 ** 53 }],
    ['N = 1e308', { N: 1e308 }],
    ['r = 0', { r: 0 }],
    ['r negative', { r: -8 }],
    ['r = 2^31', { r: 2 ** 31 }],
    ['p = 0', { p: 0 }],
    ['p = 1e9', { p: 1e9 }],
    ['memory over 1 GiB (N=2^20, r=16)', { N: 2 ** 20, r: 16 }],
    ['work over the bound (N=2^20, r=8, p=16)', { N: 2 ** 20, r: 8, p: 16 }],
  ]

  it.each(cases)('refuses %s in a native file within 200 ms', async (_name, patch) => {
    const bytes = await craftNative({ header: (recipient) => ({ recipients: [{ ...recipient, ...patch }] }) })
    const started = performance.now()
    const error = await openCrafted(bytes).catch((e: unknown) => e)
    expect(performance.now() - started).toBeLessThan(200)
    expect(error).toBeInstanceOf(SSError)
    expect((error as SSError).code).toBe('BAD_PARAMETERS')
  })

  it.each([
    ['zero iterations', 0, 'BAD_PARAMETERS'],
    ['negative iterations', -5, 'BAD_PARAMETERS'],
    ['2^24 iterations', 2 ** 24, 'BAD_PARAMETERS'],
    ['2^53 iterations', 2 ** 53, 'NOT_A_STASH'],
    ['fractional iterations', 100.5, 'NOT_A_STASH'],
    ['iterations as a string', '100', 'NOT_A_STASH'],
  ])('refuses %s in a Python-format file within 200 ms', async (_name, iterations, code) => {
    const bytes = await craftPython(enc('{}'), { iterations })
    const started = performance.now()
    const error = await openCrafted(bytes).catch((e: unknown) => e)
    expect(performance.now() - started).toBeLessThan(200)
    expect(error).toBeInstanceOf(SSError)
    expect((error as SSError).code).toBe(code)
  })

  it('refuses a huge exponent that JSON turns into Infinity', () => {
    const text = `{"hash": "sha512", "salt": "${'00'.repeat(32)}", "iterations": 1e400, "enc_blob": "${'00'.repeat(60)}"}`
    expectSSError(() => parseStash(enc(text), 'f'), 'NOT_A_STASH')
  })
})

describe('a Python-format file that is not what the Python package writes', () => {
  const fields = { hash: 'sha512', salt: '00'.repeat(32), iterations: 100, enc_blob: '00'.repeat(60) }
  const python = (patch: Record<string, unknown>, drop: string[] = []): Uint8Array => {
    const outer: Record<string, unknown> = { ...fields, ...patch }
    for (const name of drop) delete outer[name]
    return enc(JSON.stringify(outer))
  }

  it('accepts the well-formed outer object used as the base of these cases', () => {
    expect(parseStash(python({}), 'f').format).toBe('python')
  })

  it.each([
    ['empty', ''],
    ['whitespace', ' \n\t'],
    ['not JSON', '{"hash": '],
    ['a JSON array', '[1,2]'],
    ['JSON null', 'null'],
    ['a number', '42'],
    ['binary', '\u0000\u0001\u0002'],
  ])('refuses a file that is %s', (_name, text) => {
    expectSSError(() => parseStash(enc(text), 'f'), 'NOT_A_STASH')
  })

  it('refuses non-ASCII bytes and a byte-order mark', () => {
    expectSSError(() => parseStash(new Uint8Array([0xef, 0xbb, 0xbf, ...python({})]), 'f'), 'NOT_A_STASH')
    expectSSError(() => parseStash(enc(JSON.stringify({ ...fields, note: 'é' })), 'f'), 'NOT_A_STASH')
  })

  it.each(['hash', 'salt', 'iterations', 'enc_blob'])('refuses a file missing "%s"', (field) => {
    expectSSError(() => parseStash(python({}, [field]), 'f'), 'NOT_A_STASH')
  })

  it('refuses an extra field, including __proto__', () => {
    expectSSError(() => parseStash(python({ version: 2 }), 'f'), 'NOT_A_STASH')
    const text = `{"hash": "sha512", "salt": "${'00'.repeat(32)}", "iterations": 100, "enc_blob": "${'00'.repeat(60)}", "__proto__": {"polluted": 1}}`
    expectSSError(() => parseStash(enc(text), 'f'), 'NOT_A_STASH')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it.each([
    ['hash', 'sha256', 'UNSUPPORTED_FORMAT'],
    ['hash', 'SHA512', 'UNSUPPORTED_FORMAT'],
    ['hash', null, 'UNSUPPORTED_FORMAT'],
    ['salt', 'AA'.repeat(32), 'NOT_A_STASH'],
    ['salt', '00'.repeat(31), 'NOT_A_STASH'],
    ['salt', '0'.repeat(63), 'NOT_A_STASH'],
    ['salt', 123, 'NOT_A_STASH'],
    ['enc_blob', '00'.repeat(39), 'NOT_A_STASH'],
    ['enc_blob', '0'.repeat(81), 'NOT_A_STASH'],
    ['enc_blob', 'zz'.repeat(60), 'NOT_A_STASH'],
    ['enc_blob', ['00'], 'NOT_A_STASH'],
  ])('refuses "%s" = %j', (field, value, code) => {
    expectSSError(() => parseStash(python({ [field]: value }), 'f'), code)
  })
})

describe('a decrypted tree that is hostile', () => {
  // These files carry a valid MAC under the real password: only the tree decoder stands guard.
  it(`refuses a native tree nested deeper than ${MAX_DEPTH}`, async () => {
    const depth = MAX_DEPTH + 2
    const body: number[] = []
    for (let i = 0; i < depth; i++) body.push(0, 1, 1, 0x61)
    body.push(0, 0)
    const error = await openCrafted(await craftNative({ body: Uint8Array.from(body) })).catch((e: unknown) => e)
    expect((error as SSError).code).toBe('CORRUPT_CONTENT')
  })

  it('refuses a native tree nested a million deep without overflowing the stack', async () => {
    const body = new Uint8Array(4 * 1_000_000 + 2)
    for (let i = 0; i < 1_000_000; i++) body.set([0, 1, 1, 0x61], i * 4)
    const error = await openCrafted(await craftNative({ body })).catch((e: unknown) => e)
    expect((error as SSError).code).toBe('CORRUPT_CONTENT')
  })

  it.each([
    ['a child count of 2^53 - 1', [0, ...varint(2 ** 53 - 1)]],
    ['a value length of 2^50', [0, 1, 1, 0x61, 1, ...varint(2 ** 50), 0]],
    ['a name length of 2^40', [0, 1, ...varint(2 ** 40)]],
    ['a varint of nine bytes', [0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
    ['a varint that is not minimal', [0, 0x81, 0x00]],
    ['unknown node flags', [2, 0]],
    ['a value on the root', [1, 1, 0x41, 0]],
    ['a name that is not UTF-8', [0, 1, 1, 0xff, 0, 0]],
    ['a name twice', [0, 2, 1, 0x61, 0, 0, 1, 0x61, 0, 0]],
    ['trailing bytes', [0, 0, 0]],
    ['nothing at all', []],
  ])('refuses a native tree with %s, quickly', async (_name, body) => {
    const bytes = await craftNative({ body: Uint8Array.from(body) })
    const started = performance.now()
    const error = await openCrafted(bytes).catch((e: unknown) => e)
    expect(performance.now() - started).toBeLessThan(500)
    expect((error as SSError).code).toBe('CORRUPT_CONTENT')
  })

  it('opens a native tree of 100,000 siblings (large but valid)', async () => {
    const tree = new Tree()
    for (let i = 0; i < 100_000; i++) tree.write([`k${i}`], enc('v'))
    const stash = await openCrafted(await craftNative({ body: encodeNativeTree(tree) }))
    expect((await stash.getChildren([])).length).toBe(100_000)
  })

  it(`refuses a Python-format tree nested deeper than ${MAX_DEPTH}, even 200,000 deep`, async () => {
    for (const depth of [MAX_DEPTH + 2, 200_000]) {
      const plain = `${'{"a":{"children":'.repeat(depth)}{}${'}}'.repeat(depth)}`
      const error = await openCrafted(await craftPython(enc(plain))).catch((e: unknown) => e)
      expect((error as SSError).code).toBe('CORRUPT_CONTENT')
    }
  })

  it.each([
    ['not JSON', '{'],
    ['not UTF-8', '\uFFFD'],
    ['an array', '[]'],
    ['an entry that is a string', '{"a":"x"}'],
    ['an entry without children', '{"a":{"value":"00"}}'],
    ['children that is an array', '{"a":{"children":[]}}'],
    ['a value that is not hex', '{"a":{"children":{},"value":"xyz!"}}'],
    ['a value of odd length', '{"a":{"children":{},"value":"abc"}}'],
    ['a value that is a number', '{"a":{"children":{},"value":12}}'],
    ['an extra field', '{"a":{"children":{},"mtime":1}}'],
  ])('refuses a Python-format plaintext that is %s', async (_name, plain) => {
    const bytes = plain === '\uFFFD' ? await craftPython(new Uint8Array([0x7b, 0xff, 0x7d])) : await craftPython(enc(plain))
    const error = await openCrafted(bytes).catch((e: unknown) => e)
    expect((error as SSError).code).toBe('CORRUPT_CONTENT')
  })
})

describe('names twice in a Python-format tree', () => {
  // JSON.parse (and Python's json.loads) keep the last of two equal names without a word.
  it.each([
    ['a name twice among siblings', '{"a":{"children":{},"value":"01"},"a":{"children":{},"value":"02"}}'],
    ['a name twice, deep down', '{"x":{"children":{"y":{"children":{"b":{"children":{}},"c":{"children":{}},"b":{"children":{}}}}}}}'],
    ['a name twice, once escaped', '{"a":{"children":{}},"\\u0061":{"children":{}}}'],
    ['a field twice', '{"a":{"children":{},"value":"01","value":"02"}}'],
  ])('refuses a Python-format plaintext with %s (CORRUPT_CONTENT)', async (_name, plain) => {
    const error = await openCrafted(await craftPython(enc(plain))).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'CORRUPT_CONTENT', message: "the stash's decrypted content is not a valid tree: a name appears twice" })
  })

  it('keeps siblings whose names differ only by escapes, quotes or backslashes apart', async () => {
    const plain = '{"a\\"b":{"children":{}},"a\\\\":{"children":{}},"a":{"children":{"a":{"children":{},"value":"31"}}},"\\"":{"children":{}}}'
    const stash = await openCrafted(await craftPython(enc(plain)))
    expect((await stash.getChildren([])).sort()).toEqual(['"', 'a', 'a"b', 'a\\'].sort())
    expect(new TextDecoder().decode(await stash.readValue(['a', 'a']))).toBe('1')
  })
})

describe('keys that name JavaScript internals or paths', () => {
  const names = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', '.', '..', '../..', '/', '\\', '\u0000', 'a\nb', '\u202e']

  it.each([
    ['native', TEST_KDF],
    ['python', PYTHON_TEST_KDF],
  ] as const)('keeps them as plain data in the %s format, across a reopen', async (format, kdf) => {
    const path = join(dir, `names-${format}.sstash`)
    const stash = await SecureStash.create(path, PASSWORD, { kdf })
    await stash.update((tree) => {
      for (const name of names) {
        tree.write([name], enc(`value of ${JSON.stringify(name)}`))
        tree.write(['nested', name, name], enc('deep'))
      }
    })
    const again = await SecureStash.open(path, PASSWORD)
    expect((await again.getChildren([])).sort()).toEqual([...names, 'nested'].sort())
    for (const name of names) {
      expect(new TextDecoder().decode(await again.readValue([name]))).toBe(`value of ${JSON.stringify(name)}`)
      expect(new TextDecoder().decode(await again.readValue(['nested', name, name]))).toBe('deep')
    }
    expect(await again.has(['nested', 'toString', 'length'])).toBe(false)
    expect(Object.getPrototypeOf({})).toBe(Object.prototype)
    expect(({} as Record<string, unknown>).value).toBeUndefined()
  })

  it('reads a Python-format plaintext whose keys are __proto__ and constructor without polluting anything', async () => {
    const plain = '{"__proto__":{"children":{"polluted":{"children":{},"value":"31"}}},"constructor":{"children":{"prototype":{"children":{},"value":"32"}}}}'
    const stash = await openCrafted(await craftPython(enc(plain)))
    expect(new TextDecoder().decode(await stash.readValue(['__proto__', 'polluted']))).toBe('1')
    expect(new TextDecoder().decode(await stash.readValue(['constructor', 'prototype']))).toBe('2')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(({} as Record<string, unknown>).children).toBeUndefined()
  })

  it('sees names in a crafted native tree as plain data', async () => {
    const tree = new Tree(new TreeNode())
    tree.write(['__proto__', 'x'], enc('1'))
    const stash = await openCrafted(await craftNative({ body: encodeNativeTree(tree) }))
    expect(await stash.getChildren(['__proto__'])).toEqual(['x'])
  })

  it('writes nothing for a new stash whose KDF is out of bounds', async () => {
    await expect(createStash({ name: 'scrypt', N: 2 ** 30, r: 8, p: 1 }, PASSWORD)).rejects.toMatchObject({ code: 'BAD_PARAMETERS' })
  })
})
