import { describe, expect, it } from 'vitest'
import { mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync, lstatSync, readdirSync, chmodSync } from 'node:fs'
import { join } from 'node:path'
import { SecureStash, SSCryptoError, SSError, SSKeyError, SSValueError, extractDirectory, extractFile, parseKdfSpec, storeDirectory, storeFile } from '../../../src/index.js'
import { PYTHON_TEST_KDF, TEST_KDF, runBin, tempDir } from '../../helpers.js'

const b = (s: string): Uint8Array => new TextEncoder().encode(s)
const dir = tempDir()
let n = 0
const fresh = (): string => join(dir, `stash-${n++}`)

// The Python package's own SecureStash tests, ported.
describe('SecureStash, as the Python package tests it', () => {
  it('creates a stash and opens it again', async () => {
    const path = fresh()
    await SecureStash.open(path, 'my_password', { kdf: TEST_KDF })
    await SecureStash.open(path, 'my_password')
    expect(statSync(path).mode & 0o777).toBe(0o600)
  })

  it('refuses a wrong password with SSCryptoError', async () => {
    const path = fresh()
    await SecureStash.open(path, 'my_password', { kdf: TEST_KDF })
    await expect(SecureStash.open(path, 'my_password2')).rejects.toThrow(SSCryptoError)
  })

  it('follows the basic usage of the tutorial', async () => {
    const path = fresh()
    let ss = await SecureStash.open(path, 'my_password', { kdf: TEST_KDF })
    await ss.writeValue(['a', 'b', 'c'], b('abc'))
    await ss.writeValue(['a', 'b'], b('ab'))
    await ss.writeValue(['a', 'b', 'd'], b('abd'))
    expect((await ss.getChildren(['a', 'b'])).sort()).toEqual(['c', 'd'])
    expect(await ss.getChildren(['a', 'b', 'd'])).toEqual([])
    expect(await ss.readValue(['a', 'b', 'c'])).toEqual(b('abc'))
    expect(await ss.readValue(['a', 'b'])).toEqual(b('ab'))
    expect(await ss.removeKey(['a', 'b', 'd'])).toEqual(b('abd'))
    expect(await ss.getChildren(['a', 'b'])).toEqual(['c'])
    await expect(ss.readValue(['a', 'b', 'd'])).rejects.toThrow(SSKeyError)
    ss = await SecureStash.open(path, 'my_password')
    expect(await ss.readValue(['a', 'b', 'c'])).toEqual(b('abc'))
    expect(await ss.readValue(['a', 'b'])).toEqual(b('ab'))
  })

  it('refuses a file that is not a stash with SSError, and leaves it alone', async () => {
    const path = fresh()
    writeFileSync(path, 'I am not a stash file!')
    const error = await SecureStash.open(path, 'my_password').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SSError)
    expect(error).not.toBeInstanceOf(SSCryptoError)
    expect(readFileSync(path, 'utf8')).toBe('I am not a stash file!')
  })

  it('names the missing key path in the error', async () => {
    const ss = await SecureStash.open(fresh(), 'pw', { kdf: TEST_KDF })
    await ss.writeValue(['project', 'SomeService', 'token2'], b('x'))
    await expect(ss.readValue(['project', 'SomeService', 'token1'])).rejects.toThrow('key project/SomeService/token1 was not found')
    await expect(ss.removeKey(['nope'])).rejects.toThrow(SSKeyError)
    await expect(ss.writeValue(['k'], 'text' as never)).rejects.toThrow(SSValueError)
  })
})

describe('SecureStash', () => {
  it('empties the stash on removeKey([])', async () => {
    const ss = await SecureStash.open(fresh(), 'pw', { kdf: TEST_KDF })
    await ss.writeValue(['a'], b('1'))
    expect(await ss.removeKey([])).toBeUndefined()
    expect(await ss.getChildren([])).toEqual([])
  })

  it('refuses to create over an existing file, and opens without creating when asked', async () => {
    const path = fresh()
    await SecureStash.create(path, 'pw', { kdf: TEST_KDF })
    await expect(SecureStash.create(path, 'pw', { kdf: TEST_KDF })).rejects.toMatchObject({ code: 'STASH_EXISTS' })
    await expect(SecureStash.open(fresh(), 'pw', { create: false })).rejects.toMatchObject({ code: 'STASH_NOT_FOUND' })
  })

  it('lists a subtree with its values', async () => {
    const ss = await SecureStash.open(fresh(), 'pw', { kdf: TEST_KDF })
    await ss.update((tree) => {
      tree.write(['p', 'a'], b('1'))
      tree.write(['p', 'b', 'c'], b('2'))
      tree.write(['q'], b('3'))
    })
    expect(await ss.list(['p'])).toEqual([
      { key: ['p', 'a'], value: b('1') },
      { key: ['p', 'b', 'c'], value: b('2') },
    ])
    expect(await ss.has(['p', 'b'])).toBe(true)
    expect(await ss.has(['p', 'z'])).toBe(false)
  })

  it('sees another writer\'s change after its own write, and keeps nothing a failed update touched', async () => {
    const path = fresh()
    const mine = await SecureStash.open(path, 'pw', { kdf: TEST_KDF })
    const theirs = await SecureStash.open(path, 'pw')
    await mine.writeValue(['k'], b('mine'))
    expect(await mine.readValue(['k'])).toEqual(b('mine'))
    await mine.writeValue(['k'], b('mine again'))
    await theirs.writeValue(['k'], b('theirs'))
    expect(await mine.readValue(['k'])).toEqual(b('theirs'))
    await mine.writeValue(['k'], b('mine'))
    await expect(
      mine.update((tree) => {
        tree.write(['k'], b('half-done'))
        throw new Error('changed my mind')
      }),
    ).rejects.toThrow('changed my mind')
    expect(await mine.readValue(['k'])).toEqual(b('mine'))
  })

  it('peeks at the file as it is now, and never at a tree a view() changed', async () => {
    const path = fresh()
    const mine = await SecureStash.open(path, 'pw', { kdf: TEST_KDF })
    const theirs = await SecureStash.open(path, 'pw')
    await mine.writeValue(['k'], b('one'))
    const peek = (): Promise<Uint8Array> => mine.peek((tree) => tree.read(['k']))
    expect(await peek()).toEqual(b('one'))
    expect(await peek()).toEqual(b('one'))
    await theirs.writeValue(['k'], b('two'))
    expect(await peek()).toEqual(b('two'))
    await mine.view((tree) => tree.write(['k'], b('never written')))
    expect(await peek()).toEqual(b('two'))
    await mine.writeValue(['k'], b('three'))
    expect(await peek()).toEqual(b('three'))
    expect(await theirs.peek((tree) => tree.read(['k']))).toEqual(b('three'))
  })

  it('writes nothing when an update throws', async () => {
    const path = fresh()
    const ss = await SecureStash.open(path, 'pw', { kdf: TEST_KDF })
    await ss.writeValue(['a'], b('1'))
    const before = readFileSync(path)
    await expect(
      ss.update((tree) => {
        tree.write(['b'], b('2'))
        throw new Error('changed my mind')
      }),
    ).rejects.toThrow('changed my mind')
    expect(readFileSync(path)).toEqual(before)
  })

  it('keeps an existing file in its own format and parameters on every write', async () => {
    const path = fresh()
    await SecureStash.open(path, 'pw', { kdf: PYTHON_TEST_KDF })
    const ss = await SecureStash.open(path, 'pw', { kdf: TEST_KDF })
    await ss.writeValue(['a'], b('1'))
    expect(JSON.parse(readFileSync(path, 'latin1'))).toMatchObject({ hash: 'sha512', iterations: 100 })
    expect(ss.info).toMatchObject({ format: 'python', kdf: { name: 'pbkdf2-sha512', iterations: 100 } })
  })

  it('changes the password atomically, optionally switching the key derivation and format', async () => {
    const path = fresh()
    const ss = await SecureStash.open(path, 'old', { kdf: PYTHON_TEST_KDF })
    await ss.writeValue(['a', 'b'], b('value'))
    await ss.changePassword('new', { kdf: parseKdfSpec('scrypt:N=2048,r=8,p=1') })
    expect(ss.info.format).toBe('native')
    await expect(SecureStash.open(path, 'old')).rejects.toThrow(SSCryptoError)
    const again = await SecureStash.open(path, 'new')
    expect(await again.readValue(['a', 'b'])).toEqual(b('value'))
    expect(again.info.kdf).toEqual({ name: 'scrypt', N: 2048, r: 8, p: 1 })
    expect(statSync(path).mode & 0o777).toBe(0o600)
  })

  it('opens with an exported key without a password, until the password changes', async () => {
    const path = fresh()
    const ss = await SecureStash.open(path, 'pw', { kdf: TEST_KDF })
    await ss.writeValue(['a'], b('1'))
    const key = await ss.exportKey()
    const byKey = await SecureStash.openWithKey(path, key)
    await byKey.writeValue(['b'], b('2'))
    expect(await ss.readValue(['b'])).toEqual(b('2'))
    await ss.changePassword('other')
    await expect(byKey.readValue(['a'])).rejects.toMatchObject({ code: 'KEY_CHANGED' })
    await expect(SecureStash.openWithKey(path, key)).rejects.toMatchObject({ code: 'KEY_CHANGED' })
  })

  it('creates files 0600 whatever the umask', async () => {
    const path = fresh()
    const old = process.umask(0o000)
    try {
      const ss = await SecureStash.open(path, 'pw', { kdf: TEST_KDF })
      await ss.writeValue(['a'], b('1'))
    } finally {
      process.umask(old)
    }
    expect(statSync(path).mode & 0o777).toBe(0o600)
  })

  it('tightens a 0644 stash to 0600 on its next write', async () => {
    const path = fresh()
    const ss = await SecureStash.open(path, 'pw', { kdf: TEST_KDF })
    chmodSync(path, 0o644)
    await ss.writeValue(['a'], b('1'))
    expect(statSync(path).mode & 0o777).toBe(0o600)
  })

  it('follows a symlinked stash and keeps the link on write', async () => {
    const target = fresh()
    const link = fresh()
    await SecureStash.open(target, 'pw', { kdf: TEST_KDF })
    symlinkSync(target, link)
    const ss = await SecureStash.open(link, 'pw')
    await ss.writeValue(['a'], b('1'))
    expect(lstatSync(link).isSymbolicLink()).toBe(true)
    expect(await (await SecureStash.open(target, 'pw')).readValue(['a'])).toEqual(b('1'))
  })

  it('leaves no lock or temporary file behind', async () => {
    const sub = join(dir, 'clean')
    mkdirSync(sub)
    const ss = await SecureStash.open(join(sub, 's'), 'pw', { kdf: TEST_KDF })
    await ss.writeValue(['a'], b('1'))
    await ss.removeKey(['a'])
    expect(readdirSync(sub)).toEqual(['s'])
  })
})

describe('files and directories', () => {
  it('stores a file and writes it back 0600', async () => {
    const ss = await SecureStash.open(fresh(), 'pw', { kdf: TEST_KDF })
    const src = join(dir, 'src.bin')
    const bytes = new Uint8Array(4096).map((_, i) => i % 256)
    writeFileSync(src, bytes)
    await storeFile(ss, ['files', 'src.bin'], src)
    const dest = join(dir, 'dest.bin')
    await extractFile(ss, ['files', 'src.bin'], dest)
    expect(new Uint8Array(readFileSync(dest))).toEqual(bytes)
    expect(statSync(dest).mode & 0o777).toBe(0o600)
  })

  it('stores a directory tree and recreates it, refusing an existing destination', async () => {
    const ss = await SecureStash.open(fresh(), 'pw', { kdf: TEST_KDF })
    const src = join(dir, 'tree-src')
    mkdirSync(join(src, 'sub', 'deeper'), { recursive: true })
    writeFileSync(join(src, 'a.txt'), 'A')
    writeFileSync(join(src, 'sub', 'b.txt'), 'B')
    writeFileSync(join(src, 'sub', 'deeper', 'c.txt'), '')
    await storeDirectory(ss, ['certs'], src)
    expect(await ss.readValue(['certs', 'sub', 'deeper', 'c.txt'])).toEqual(b(''))
    const dest = join(dir, 'tree-dest')
    await extractDirectory(ss, ['certs'], dest)
    expect(readFileSync(join(dest, 'a.txt'), 'utf8')).toBe('A')
    expect(readFileSync(join(dest, 'sub', 'b.txt'), 'utf8')).toBe('B')
    expect(readFileSync(join(dest, 'sub', 'deeper', 'c.txt'), 'utf8')).toBe('')
    expect(statSync(dest).mode & 0o777).toBe(0o700)
    expect(statSync(join(dest, 'a.txt')).mode & 0o777).toBe(0o600)
    await expect(extractDirectory(ss, ['certs'], dest)).rejects.toMatchObject({ code: 'DEST_EXISTS' })
  })

  it('refuses to write a directory whose names cannot be files, writing nothing', async () => {
    const ss = await SecureStash.open(fresh(), 'pw', { kdf: TEST_KDF })
    await ss.writeValue(['d', '..'], b('escape'))
    const dest = join(dir, 'never')
    await expect(extractDirectory(ss, ['d'], dest)).rejects.toThrow(SSKeyError)
    expect(() => statSync(dest)).toThrow()
  })
})

describe('an update that changes nothing', () => {
  const identity = (path: string): string => {
    const info = statSync(path, { bigint: true })
    return `${info.ino}:${info.mtimeNs}:${info.ctimeNs}`
  }

  it('writes nothing when fn returns SecureStash.UNCHANGED, and returns it', async () => {
    const path = fresh()
    const ss = await SecureStash.open(path, 'pw', { kdf: TEST_KDF })
    await ss.writeValue(['a'], b('1'))
    const [before, bytes] = [identity(path), readFileSync(path)]
    const result = await ss.update((tree) => (tree.find(['a']) ? SecureStash.UNCHANGED : tree.write(['a'], b('1'))))
    expect(result).toBe(SecureStash.UNCHANGED)
    expect(identity(path)).toBe(before)
    expect(readFileSync(path)).toEqual(bytes)
    expect(await ss.readValue(['a'])).toEqual(b('1'))
    expect(readdirSync(dir).filter((name) => name.includes('.lock'))).toEqual([])
  })

  it('leaves the file untouched when git stores a credential the stash already holds, or erases one it does not', async () => {
    const path = fresh()
    await SecureStash.open(path, 'pw', { kdf: TEST_KDF })
    const env = { SSTASH_PASSWORD: 'pw' }
    const credential = 'protocol=https\nhost=example.com\nusername=me\npassword=token-1\n\n'
    expect(await runBin('git', ['--stash', path, 'store'], { env, input: credential })).toMatchObject({ code: 0, stderr: '' })
    const before = identity(path)
    expect(await runBin('git', ['--stash', path, 'store'], { env, input: credential })).toMatchObject({ code: 0, stderr: '' })
    expect(identity(path)).toBe(before)
    expect(await runBin('git', ['--stash', path, 'erase'], { env, input: 'protocol=https\nhost=other.example\n\n' })).toMatchObject({ code: 0, stderr: '' })
    expect(identity(path)).toBe(before)
    const changed = credential.replace('token-1', 'token-2')
    expect(await runBin('git', ['--stash', path, 'store'], { env, input: changed })).toMatchObject({ code: 0, stderr: '' })
    expect(identity(path)).not.toBe(before)
    const got = await runBin('git', ['--stash', path, 'get'], { env, input: 'protocol=https\nhost=example.com\n\n' })
    expect(got.stdout).toContain('password=token-2\n')
  })
})

describe('a stash too large to store', () => {
  const LIMIT = 128 * 1024 * 1024

  it('refuses a value over 128 MiB with BAD_VALUE before anything is encrypted, and writes nothing', async () => {
    const path = fresh()
    const ss = await SecureStash.open(path, 'pw', { kdf: TEST_KDF })
    await ss.writeValue(['a'], b('1'))
    const before = readFileSync(path)
    const error = await ss.writeValue(['big'], new Uint8Array(LIMIT + 1)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SSValueError)
    expect(error).toMatchObject({ code: 'BAD_VALUE', message: `the value would take ${LIMIT + 1} bytes; a stash holds at most ${LIMIT} bytes (128 MiB)` })
    expect(readFileSync(path)).toEqual(before)
  })

  it('refuses a tree whose values pass 128 MiB together, in the native format', async () => {
    const path = fresh()
    const ss = await SecureStash.open(path, 'pw', { kdf: TEST_KDF })
    const before = readFileSync(path)
    const half = new Uint8Array(LIMIT / 2)
    const error = await ss
      .update((tree) => {
        tree.write(['one'], half)
        tree.write(['two'], half)
      })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'BAD_VALUE', message: expect.stringMatching(/^the stash would take \d+ bytes; a stash holds at most/) })
    expect(readFileSync(path)).toEqual(before)
    expect(await ss.getChildren([])).toEqual([])
  })

  it('counts the Python format by its JSON plaintext, where a value takes twice its size in hex', async () => {
    const path = fresh()
    const ss = await SecureStash.open(path, 'pw', { kdf: PYTHON_TEST_KDF })
    await ss.writeValue(['fits'], new Uint8Array(1024))
    const error = await ss.writeValue(['big'], new Uint8Array(LIMIT / 2 + 1)).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'BAD_VALUE' })
    expect(await ss.getChildren([])).toEqual(['fits'])
  })
})
