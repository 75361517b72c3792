/**
 * Hostile or failing filesystems: symlinks, loose modes, directories other users can write,
 * a full disk and a file-size limit in the middle of a write. Real files, real mounts, real
 * resource limits; the old stash must always survive intact.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, statfsSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { SSError, SecureStash } from '../../src/index.js'
import { ROOT, TEST_KDF, makeStash, runCommand, tempDir } from '../helpers.js'

const dir = tempDir()
const PASSWORD = 'pw'
const enc = (text: string): Uint8Array => new TextEncoder().encode(text)
const dec = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)
const isRoot = process.getuid?.() === 0

describe('a stash that is a symbolic link', () => {
  it('is followed: writes replace the target and keep the link', async () => {
    const target = join(dir, 'real.sstash')
    const link = join(dir, 'link.sstash')
    await makeStash(target, PASSWORD, { a: '1' })
    symlinkSync(target, link)
    const stash = await SecureStash.open(link, PASSWORD)
    await stash.writeValue(['b'], enc('2'))
    expect(lstatSync(link).isSymbolicLink()).toBe(true)
    expect(readlinkSync(link)).toBe(target)
    expect(statSync(target).mode & 0o777).toBe(0o600)
    expect(dec(await (await SecureStash.open(target, PASSWORD)).readValue(['b']))).toBe('2')
  })

  it('is refused with a clear error when it points nowhere, creating nothing', async () => {
    const link = join(dir, 'dangling.sstash')
    symlinkSync(join(dir, 'missing-target.sstash'), link)
    const started = Date.now()
    const error = await SecureStash.open(link, PASSWORD, { kdf: TEST_KDF }).catch((e: unknown) => e)
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(error).toBeInstanceOf(SSError)
    expect((error as SSError).code).toBe('DANGLING_LINK')
    expect((error as SSError).message).toMatch(/symbolic link to .*missing-target\.sstash, which does not exist/)
    expect(existsSync(join(dir, 'missing-target.sstash'))).toBe(false)
    expect(lstatSync(link).isSymbolicLink()).toBe(true)
  })
})

describe('a stash file with loose permissions', () => {
  it('is read, and the next write makes it 0600', async () => {
    const path = join(dir, 'loose.sstash')
    await makeStash(path, PASSWORD, { a: '1' })
    chmodSync(path, 0o644)
    const stash = await SecureStash.open(path, PASSWORD)
    expect(dec(await stash.readValue(['a']))).toBe('1')
    expect(statSync(path).mode & 0o777).toBe(0o644)
    await stash.writeValue(['a'], enc('2'))
    expect(statSync(path).mode & 0o777).toBe(0o600)
  })

  it('is created 0600 whatever the umask', async () => {
    const path = join(dir, 'umask.sstash')
    const script = `import { SecureStash, parseKdfSpec } from ${JSON.stringify(join(ROOT, 'dist/index.js'))}
process.umask(0)
await SecureStash.create(process.argv[1], 'pw', { kdf: parseKdfSpec('scrypt:N=1024,r=8,p=1') })`
    const result = await runCommand(process.execPath, ['--input-type=module', '-e', script, path])
    expect(result.stderr).toBe('')
    expect(statSync(path).mode & 0o777).toBe(0o600)
  })
})

describe('a directory that other users can write', () => {
  it('refuses to write in a world-writable directory without the sticky bit, and leaves the stash as it was', async () => {
    const open = join(dir, 'world-writable')
    mkdirSync(open, { mode: 0o700 })
    const path = join(open, 's.sstash')
    await makeStash(path, PASSWORD, { a: '1' })
    const before = readFileSync(path)
    chmodSync(open, 0o777)
    const stash = await SecureStash.open(path, PASSWORD)
    expect(dec(await stash.readValue(['a']))).toBe('1')
    const error = await stash.writeValue(['a'], enc('2')).catch((e: unknown) => e)
    expect((error as SSError).code).toBe('UNSAFE_DIRECTORY')
    expect((error as SSError).message).toMatch(/anyone can write there \(mode 777\)/)
    expect(readFileSync(path).equals(before)).toBe(true)
    expect(readdirSync(open).sort()).toEqual(['s.sstash'])
  })

  it('writes in a world-writable directory with the sticky bit, as in /tmp', async () => {
    const sticky = join(dir, 'sticky')
    mkdirSync(sticky, { mode: 0o700 })
    chmodSync(sticky, 0o1777)
    const stash = await makeStash(join(sticky, 's.sstash'), PASSWORD, { a: '1' })
    await stash.writeValue(['a'], enc('2'))
    expect(dec(await stash.readValue(['a']))).toBe('2')
  })

  it.skipIf(!isRoot)('refuses to write in a directory owned by another user (needs root to chown)', async () => {
    const theirs = join(dir, 'theirs')
    mkdirSync(theirs, { mode: 0o755 })
    const path = join(theirs, 's.sstash')
    await makeStash(path, PASSWORD, { a: '1' })
    const before = readFileSync(path)
    chownSync(theirs, 65534, 65534)
    const stash = await SecureStash.open(path, PASSWORD)
    expect(dec(await stash.readValue(['a']))).toBe('1')
    const error = await stash.writeValue(['a'], enc('2')).catch((e: unknown) => e)
    expect((error as SSError).code).toBe('UNSAFE_DIRECTORY')
    expect((error as SSError).message).toMatch(/belongs to another user \(uid 65534\)/)
    expect(readFileSync(path).equals(before)).toBe(true)
    const created = await SecureStash.create(join(theirs, 'new.sstash'), PASSWORD, { kdf: TEST_KDF }).catch((e: unknown) => e)
    expect((created as SSError).code).toBe('UNSAFE_DIRECTORY')
    expect(existsSync(join(theirs, 'new.sstash'))).toBe(false)
  })
})

// A tiny tmpfs is a real full disk; mounting needs root (or a user namespace), so the case
// is skipped, with the reason, elsewhere.
function mountTmpfs(path: string, size: string): boolean {
  if (!isRoot) return false
  mkdirSync(path, { recursive: true })
  const result = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', path])
  return result.status === 0
}

describe('a write that fails half-way', () => {
  const mountPoint = join(dir, 'full')
  const mounted = mountTmpfs(mountPoint, '256k')
  afterAll(() => {
    if (mounted) spawnSync('umount', ['-l', mountPoint])
  })

  it.skipIf(!mounted)('leaves the old file intact and no temporary file when the disk is full (ENOSPC, tmpfs mounted as root)', async () => {
    const path = join(mountPoint, 's.sstash')
    const stash = await makeStash(path, PASSWORD, { a: 'old value', blob: new Uint8Array(60_000) })
    const before = readFileSync(path)
    // Leave room for the lock file, but less than the next file needs.
    const filler = join(mountPoint, 'filler')
    const { bavail, bsize } = statfsSync(mountPoint)
    writeFileSync(filler, new Uint8Array(bavail * bsize - 40_000))
    const error = await stash.writeValue(['blob'], new Uint8Array(120_000)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SSError)
    expect((error as SSError).code).toBe('WRITE_FAILED')
    expect((error as SSError).message).toMatch(/no space left on the device/)
    expect(readFileSync(path).equals(before)).toBe(true)
    expect(readdirSync(mountPoint).filter((name) => name.endsWith('.tmp'))).toEqual([])
    expect(dec(await (await SecureStash.open(path, PASSWORD)).readValue(['a']))).toBe('old value')
    execFileSync('rm', ['-f', filler])
  })

  it('leaves the old file intact when a file-size limit cuts the write (EFBIG, prlimit on a child process)', async () => {
    if (spawnSync('prlimit', ['--version']).status !== 0) return expect.fail('prlimit (util-linux) is not installed')
    const path = join(dir, 'fsize.sstash')
    await makeStash(path, PASSWORD, { a: 'old value' })
    const before = readFileSync(path)
    // Node ignores SIGXFSZ, so the write fails with EFBIG rather than killing the process.
    const script = `import { SecureStash } from ${JSON.stringify(join(ROOT, 'dist/index.js'))}
const stash = await SecureStash.open(process.argv[1], 'pw')
try { await stash.writeValue(['big'], new Uint8Array(200000)); console.log('written') }
catch (error) { console.log(error.code, error.message) }`
    const result = await runCommand('prlimit', [`--fsize=${100_000}`, '--', process.execPath, '--input-type=module', '-e', script, path])
    expect(result.stdout).toMatch(/^WRITE_FAILED cannot write .*: the file is too large/)
    expect(readFileSync(path).equals(before)).toBe(true)
    expect(readdirSync(dir).filter((name) => name.startsWith('.fsize.sstash'))).toEqual([])
  })
})

describe('a stash replaced between open and the first read', () => {
  it('is read again: what open decrypted is reused only while the file is the same one', async () => {
    const path = join(dir, 'replaced.sstash')
    await makeStash(path, PASSWORD, { a: 'old' })
    const reader = await SecureStash.open(path, PASSWORD)
    await (await SecureStash.open(path, PASSWORD)).writeValue(['a'], enc('new'))
    expect(dec(await reader.readValue(['a']))).toBe('new')
    const again = await SecureStash.open(path, PASSWORD)
    expect(dec(await again.readValue(['a']))).toBe('new')
    writeFileSync(path, readFileSync(join(dir, 'loose.sstash')))
    await expect(again.readValue(['a'])).resolves.toEqual(enc('2'))
  })
})
