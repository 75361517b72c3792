import { describe, expect, it } from 'vitest'
import { copyFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { SecureStash, SSCryptoError, SSError } from '../../../src/index.js'
import { parseStash } from '../../../src/format/stash-file.js'
import { deriveKey } from '../../../src/format/kdf.js'
import { decodeTree as decodeNative } from '../../../src/tree/codec.js'
import { decodeTree as decodePython } from '../../../src/format/python.js'
import { ROOT, tempDir } from '../../helpers.js'

const VECTORS = join(ROOT, 'test/vectors')
interface Vector {
  file: string
  password: string
  expect: string
  /** The SSError code a reader must give, where the vector names one. */
  code?: string
  derived_key?: string
  salt?: string
  body_plaintext?: string
  values?: { key: string[]; value_hex: string }[]
}
const vectors = JSON.parse(readFileSync(join(VECTORS, 'vectors.json'), 'utf8')) as Vector[]
const dir = tempDir()
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

describe('the test vectors', () => {
  it.each(vectors.filter((v) => v.expect === 'ok').map((v) => [v.file, v] as const))('%s opens to its values', async (file, v) => {
    const path = join(dir, file)
    copyFileSync(join(VECTORS, file), path)
    const stash = await SecureStash.open(path, v.password)
    expect((await stash.list()).map((e) => ({ key: e.key, value_hex: hex(e.value) }))).toEqual(v.values)
    // The intermediate values another implementation checks itself against.
    const locked = parseStash(new Uint8Array(readFileSync(path)), file)
    expect(hex(locked.salt)).toBe(v.salt)
    expect(hex(await deriveKey(locked.kdf, v.password, locked.salt))).toBe(v.derived_key)
    const body = new Uint8Array(Buffer.from(v.body_plaintext as string, 'hex'))
    const decode = locked.format === 'native' ? decodeNative : decodePython
    expect(decode(body).entries([]).map((e) => ({ key: e.key, value_hex: hex(e.value) }))).toEqual(v.values)
  })

  it.each(vectors.filter((v) => v.expect !== 'ok').map((v) => [v.file, v] as const))('%s fails cleanly', async (file, v) => {
    const path = join(dir, file)
    copyFileSync(join(VECTORS, file), path)
    const before = readFileSync(path)
    const started = Date.now()
    const error = await SecureStash.open(path, v.password).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(SSError)
    if (v.expect === 'SSCryptoError') expect(error).toBeInstanceOf(SSCryptoError)
    if (v.expect === 'SSError') expect(error).not.toBeInstanceOf(SSCryptoError)
    if (v.code !== undefined) expect((error as SSError).code).toBe(v.code)
    // Parameters out of bounds are refused before any key derivation runs.
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(readFileSync(path)).toEqual(before)
  })
})
