/**
 * Hostile or failing filesystems: symlinks, loose modes, directories other users can write,
 * a full disk and a file-size limit in the middle of a write. Real files, real mounts, real
 * resource limits; the old stash must always survive intact. A second Unix user's attacks are
 * in ./another-user.test.ts.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, statfsSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { SSError, SecureStash } from '../../src/index.js'
import { ROOT, TEST_KDF, makeStash, runBin, runCommand, tempDir, type RunResult } from '../helpers.js'

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

describe('a lock that cannot be written', () => {
  const mountPoint = join(dir, 'full-lock')
  const mounted = mountTmpfs(mountPoint, '128k')
  afterAll(() => {
    if (mounted) spawnSync('umount', ['-l', mountPoint])
  })

  it.skipIf(!mounted)('leaves no empty lock file when the disk fills up as the lock is written (ENOSPC, tmpfs mounted as root)', async () => {
    const path = join(mountPoint, 's.sstash')
    const stash = await makeStash(path, PASSWORD, { a: 'old value' })
    const before = readFileSync(path)
    // Every block taken: the lock file can still be created (an inode), but not written.
    const { bavail, bsize } = statfsSync(mountPoint)
    writeFileSync(join(mountPoint, 'filler'), new Uint8Array(bavail * bsize))
    const error = await stash.writeValue(['a'], enc('new value')).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'WRITE_FAILED', message: `cannot write the lock ${path}.lock: no space left on the device` })
    expect(readdirSync(mountPoint).sort()).toEqual(['filler', 's.sstash'])
    expect(readFileSync(path).equals(before)).toBe(true)
    execFileSync('rm', ['-f', join(mountPoint, 'filler')])
    await stash.writeValue(['a'], enc('new value'))
    expect(dec(await stash.readValue(['a']))).toBe('new value')
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

// Every command on a file that is not a regular file ends, at once, with one line that says so.
const GIT_GET = 'protocol=https\nhost=example.com\n\n'
async function everyCommand(path: string): Promise<Record<string, RunResult>> {
  const env = { SSTASH_PASSWORD: PASSWORD, SSTASH_FILE: path }
  const [get, set, doctor, gitGet] = await Promise.all([
    runBin('sstash', ['get', 'a'], { env, timeoutMs: 10_000 }),
    runBin('sstash', ['set', 'a'], { env, input: 'v', timeoutMs: 10_000 }),
    runBin('sstash', ['--stash', path, 'doctor'], { env, timeoutMs: 10_000 }),
    runBin('git', ['--stash', path, 'get'], { env, input: GIT_GET, timeoutMs: 10_000 }),
  ])
  return { get, set, doctor, 'git get': gitGet }
}

function expectOneLineError(results: Record<string, RunResult>, what: RegExp): void {
  for (const [name, result] of Object.entries(results)) {
    expect(result.signal, `${name} was killed: it hung`).toBeNull()
    if (name === 'doctor') {
      expect(result.code, name).toBe(1)
      expect(result.stdout, name).toMatch(new RegExp(`^problem: ${what.source}`, 'm'))
      continue
    }
    expect(result.code, name).toBe(1)
    expect(result.stderr, name).toMatch(new RegExp(`^sstash: error: ${what.source}\n(sstash: hint: [^\n]*\n)?$`))
  }
}

describe('a stash path that is not a regular file', () => {
  it('ends get, set, doctor and git-credential-sstash get with one line when it is a FIFO', async () => {
    const fifo = join(dir, 'stash.fifo')
    execFileSync('mkfifo', [fifo])
    expectOneLineError(await everyCommand(fifo), /\S*stash\.fifo is not a regular file/)
  }, 30_000)

  it('ends them with one line when it is a symbolic link to a FIFO', async () => {
    const fifo = join(dir, 'target.fifo')
    execFileSync('mkfifo', [fifo])
    const link = join(dir, 'fifo-link.sstash')
    symlinkSync(fifo, link)
    expectOneLineError(await everyCommand(link), /\S*target\.fifo is not a regular file/)
  }, 30_000)

  it('ends them with one line when it is /dev/zero, without reading it', async () => {
    expectOneLineError(await everyCommand('/dev/zero'), /\/dev\/zero is not a regular file/)
  }, 30_000)

  it('refuses /dev/zero as a value file without reading it (NOT_A_FILE), writing nothing', async () => {
    const path = join(dir, 'devzero-value.sstash')
    await makeStash(path, PASSWORD, { a: '1' })
    const before = readFileSync(path)
    const r = await runBin('sstash', ['--stash', path, 'set', 'big', '--file', '/dev/zero'], { env: { SSTASH_PASSWORD: PASSWORD }, timeoutMs: 10_000 })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('sstash: error: /dev/zero is not a regular file\n')
    expect(readFileSync(path).equals(before)).toBe(true)
  }, 30_000)
})

describe('a lock path that is not a regular file', () => {
  it('ends set and doctor with one line when <stash>.lock is a FIFO, and leaves it there', async () => {
    const path = join(dir, 'fifo-lock.sstash')
    await makeStash(path, PASSWORD, { a: '1' })
    const before = readFileSync(path)
    execFileSync('mkfifo', [`${path}.lock`])
    const set = await runBin('sstash', ['--stash', path, 'set', 'a'], { env: { SSTASH_PASSWORD: PASSWORD }, input: 'v', timeoutMs: 10_000 })
    expect(set.signal).toBeNull()
    expect(set.code).toBe(1)
    expect(set.stderr).toBe(`sstash: error: ${path}.lock is not a regular file\nsstash: hint: sstash makes its lock as a small regular file; if you made ${path}.lock, remove it\n`)
    const doctor = await runBin('sstash', ['--stash', path, 'doctor'], { timeoutMs: 10_000 })
    expect(doctor.signal).toBeNull()
    expect(doctor.stdout).toContain(`problem: ${path}.lock is not a regular file: it is not a lock sstash made, and blocks every write\n  fix: rm ${path}.lock\n`)
    expect(readFileSync(path).equals(before)).toBe(true)
    expect(lstatSync(`${path}.lock`).isFIFO()).toBe(true)
  }, 30_000)

  it('refuses a symbolic link at <stash>.lock without following it', async () => {
    const path = join(dir, 'link-lock.sstash')
    await makeStash(path, PASSWORD, { a: '1' })
    symlinkSync('/dev/zero', `${path}.lock`)
    const error = await (await SecureStash.open(path, PASSWORD)).writeValue(['a'], enc('2')).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'NOT_A_FILE', message: `${path}.lock is a symbolic link, not a regular file` })
    expect(readlinkSync(`${path}.lock`)).toBe('/dev/zero')
  })
})
