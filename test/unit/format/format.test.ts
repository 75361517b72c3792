import { describe, expect, it } from 'vitest'
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import { execFileSync, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { SecureStash, SSCryptoError, SSError } from '../../../src/index.js'
import { parseStash, createStash } from '../../../src/format/stash-file.js'
import { deriveKey } from '../../../src/format/kdf.js'
import { Tree } from '../../../src/tree/tree.js'
import { PYTHON_TEST_KDF, ROOT, TEST_KDF, tempDir } from '../../helpers.js'

const FIXTURES = join(ROOT, 'test/fixtures/python-sstash')
const PY_IO = join(ROOT, 'test/fixtures/python/sstash_io.py')
interface Golden {
  password: string
  kdf: { hash: string; iterations: number }
  values: { key: string[]; value_hex: string }[]
  nodes_without_value: string[][]
}
const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as Record<string, Golden>
const dir = tempDir()
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

// PyNaCl is what the Python package encrypts with; CI installs it (python3-nacl).
const hasPyNaCl = spawnSync('/usr/bin/python3', ['-c', 'import nacl'], { stdio: 'ignore' }).status === 0

function pythonRead(path: string, password: string): { values: [string[], string][]; nodes: string[][] } {
  return JSON.parse(execFileSync('/usr/bin/python3', [PY_IO, 'read', path, password], { encoding: 'utf8' }))
}

describe('the Python sstash 0.17 format', () => {
  it.each(Object.keys(expected))('reads the golden file %s with every value and node', async (name) => {
    const golden = expected[name] as Golden
    const path = join(dir, name)
    copyFileSync(join(FIXTURES, name), path)
    const ss = await SecureStash.open(path, golden.password)
    expect(ss.info).toMatchObject({ format: 'python', kdf: { name: 'pbkdf2-sha512', iterations: golden.kdf.iterations } })
    const listed = (await ss.list()).map((e) => ({ key: e.key, value_hex: hex(e.value) }))
    expect(listed).toEqual(golden.values)
    for (const node of golden.nodes_without_value) {
      expect(await ss.has(node)).toBe(true)
      await expect(ss.readValue(node)).rejects.toMatchObject({ code: 'NO_VALUE' })
    }
  })

  it('refuses a golden file with the wrong password', async () => {
    const path = join(dir, 'wrong-pw.sstash')
    copyFileSync(join(FIXTURES, 'tutorial-tree.sstash'), path)
    await expect(SecureStash.open(path, 'Correct horse battery staple')).rejects.toThrow(SSCryptoError)
  })

  it('keeps every byte through a rewrite in the Python format and a migration to native', async () => {
    const golden = expected['tutorial-tree.sstash'] as Golden
    const path = join(dir, 'roundtrip.sstash')
    copyFileSync(join(FIXTURES, 'tutorial-tree.sstash'), path)
    const ss = await SecureStash.open(path, golden.password)
    await ss.writeValue(['added'], new Uint8Array([0, 255]))
    await ss.removeKey(['added'])
    const text = readFileSync(path, 'latin1')
    expect(text).toMatch(/^\{"hash": "sha512", "salt": "[0-9a-f]{64}", "iterations": 100, "enc_blob": "[0-9a-f]+"\}$/)
    const reread = (await (await SecureStash.open(path, golden.password)).list()).map((e) => ({ key: e.key, value_hex: hex(e.value) }))
    expect(reread).toEqual(golden.values)
    await ss.changePassword(golden.password, { kdf: TEST_KDF })
    const native = (await (await SecureStash.open(path, golden.password)).list()).map((e) => ({ key: e.key, value_hex: hex(e.value) }))
    expect(native).toEqual(golden.values)
    await ss.changePassword(golden.password, { kdf: PYTHON_TEST_KDF })
    const back = (await (await SecureStash.open(path, golden.password)).list()).map((e) => ({ key: e.key, value_hex: hex(e.value) }))
    expect(back).toEqual(golden.values)
  })

  it.skipIf(!hasPyNaCl)('writes files that the Python side (PyNaCl) opens with every value', async () => {
    const golden = expected['tutorial-tree.sstash'] as Golden
    const path = join(dir, 'for-python.sstash')
    const ss = await SecureStash.open(path, 'pässword', { kdf: PYTHON_TEST_KDF })
    await ss.update((tree) => {
      for (const { key, value_hex } of golden.values) tree.write(key, new Uint8Array(Buffer.from(value_hex, 'hex')))
      tree.write(['__proto__', 'constructor'], new Uint8Array([1]))
    })
    const seen = pythonRead(path, 'pässword')
    expect(seen.values).toEqual([...golden.values.map((v) => [v.key, v.value_hex]), [['__proto__', 'constructor'], '01']])
    expect(seen.nodes).toEqual([...golden.nodes_without_value, ['__proto__']])
  })

  it.skipIf(!hasPyNaCl)('reads files that the Python side (PyNaCl) writes', async () => {
    const path = join(dir, 'from-python.sstash')
    const values: [string[], string][] = [
      [['a', 'b'], '00ff'],
      [['a', 'b', 'c'], ''],
      [['ü', '/'], hex(new TextEncoder().encode('snow ☃'))],
    ]
    execFileSync('/usr/bin/python3', [PY_IO, 'write', path, 'pw', '100'], { input: JSON.stringify(values) })
    const listed = (await (await SecureStash.open(path, 'pw')).list()).map((e) => [e.key, hex(e.value)])
    expect(listed).toEqual(values)
  })
})

describe('the native format', () => {
  it('writes a versioned header with the scrypt parameters and no secret', async () => {
    const path = join(dir, 'native.sstash')
    const ss = await SecureStash.open(path, 'pw', { kdf: TEST_KDF })
    await ss.writeValue(['token'], new TextEncoder().encode('SECRET-CANARY'))
    const bytes = readFileSync(path)
    const lines = bytes.toString('latin1').split('\n')
    expect(lines[0]).toBe('sstash/1')
    const header = JSON.parse(lines[1] as string)
    expect(header.recipients[0]).toMatchObject({ type: 'scrypt', N: 1024, r: 8, p: 1 })
    expect(bytes.includes('SECRET-CANARY')).toBe(false)
  })

  it('stores values compactly: a 1 MB value costs about 1 MB on disk', async () => {
    const path = join(dir, 'big.sstash')
    const ss = await SecureStash.open(path, 'pw', { kdf: TEST_KDF })
    await ss.writeValue(['big'], new Uint8Array(1024 * 1024).fill(7))
    expect(readFileSync(path).length).toBeLessThan(1024 * 1024 + 512)
  })
})

// Every single-bit flip and every truncation of a small file must end in a clean error:
// never different plaintext, never a crash.
describe.each([
  ['native', TEST_KDF],
  ['python', PYTHON_TEST_KDF],
] as const)('tampering with a %s file', (_name, kdf) => {
  async function small(): Promise<{ bytes: Uint8Array; plain: string }> {
    const fresh = await createStash(kdf, 'pw')
    const tree = new Tree()
    tree.write(['a', 'b'], new TextEncoder().encode('v'))
    return { bytes: fresh.seal(tree), plain: JSON.stringify(tree.entries([]).map((e) => [e.key, hex(e.value)])) }
  }

  async function outcome(bytes: Uint8Array): Promise<'error' | 'same' | 'different'> {
    try {
      const locked = parseStash(bytes, 'f')
      const { tree } = locked.unlock(await deriveKey(locked.kdf, 'pw', locked.salt))
      return JSON.stringify(tree.entries([]).map((e) => [e.key, hex(e.value)])) === original.plain ? 'same' : 'different'
    } catch (error) {
      if (error instanceof SSError) return 'error'
      throw error
    }
  }

  let original: { bytes: Uint8Array; plain: string }

  it('ends in SSError or SSCryptoError for every bit flipped', async () => {
    original = await small()
    expect(await outcome(original.bytes)).toBe('same')
    const results = new Map<string, number>()
    for (let i = 0; i < original.bytes.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const copy = original.bytes.slice()
        copy[i] = (copy[i] as number) ^ (1 << bit)
        const result = await outcome(copy)
        results.set(result, (results.get(result) ?? 0) + 1)
      }
    }
    expect(results.get('different')).toBeUndefined()
    expect(results.get('same')).toBeUndefined()
    expect(results.get('error')).toBe(original.bytes.length * 8)
  })

  it('ends in SSError or SSCryptoError for every truncation and for extra bytes', async () => {
    original ??= await small()
    for (let length = 0; length < original.bytes.length; length++) expect(await outcome(original.bytes.subarray(0, length))).toBe('error')
    expect(await outcome(new Uint8Array([...original.bytes, 0]))).toBe('error')
    expect(await outcome(new Uint8Array([...original.bytes, 0x20]))).not.toBe('different')
  })
})

describe('a damaged file on disk', () => {
  it('gives a clean error through the public API and is left unchanged', async () => {
    const path = join(dir, 'damaged.sstash')
    const ss = await SecureStash.open(path, 'pw', { kdf: TEST_KDF })
    await ss.writeValue(['a'], new Uint8Array([1]))
    const bytes = readFileSync(path)
    bytes.writeUInt8((bytes.at(-1) as number) ^ 1, bytes.length - 1)
    writeFileSync(path, bytes)
    await expect(SecureStash.open(path, 'pw')).rejects.toThrow(SSCryptoError)
    await expect(ss.writeValue(['b'], new Uint8Array([2]))).rejects.toThrow(SSCryptoError)
    expect(readFileSync(path)).toEqual(bytes)
  })
})
