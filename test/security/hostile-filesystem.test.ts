/**
 * Hostile or failing filesystems: symlinks, loose modes, directories other users can write,
 * a full disk and a file-size limit in the middle of a write. Real files, real mounts, real
 * resource limits; the old stash must always survive intact.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync, statSync, statfsSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { SSError, SecureStash } from '../../src/index.js'
import { BIN, ROOT, TEST_KDF, makeStash, otherUser, runBin, runCommand, tempDir, type RunOptions, type RunResult, type TestUser } from '../helpers.js'

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

// A directory outside the private test directory, so that the second user can reach it.
function sharedDir(mode: number): string {
  const shared = realpathSync(mkdtempSync(join(tmpdir(), 'sstash-shared-')))
  chmodSync(shared, mode)
  afterAll(() => rmSync(shared, { recursive: true, force: true }))
  return shared
}

/** The runtime dependencies of package.json, with theirs, as node_modules/ holds them (hoisted). */
function runtimeDependencies(): string[] {
  const names = new Set<string>()
  const visit = (pkg: string): void => {
    const { dependencies = {} } = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }
    for (const name of Object.keys(dependencies)) {
      if (names.has(name) || !existsSync(join(ROOT, 'node_modules', name))) continue
      names.add(name)
      visit(join(ROOT, 'node_modules', name))
    }
  }
  visit(ROOT)
  return [...names]
}

/**
 * What the second user runs: a copy of the built package (bin/, dist/, package.json, its runtime
 * dependencies, the fixture it starts) in a directory anyone can read, outside the clone. The
 * clone may sit in a private folder (a 0700 home, `mktemp -d`) that the second user cannot
 * enter: the tests must never fail because of where the clone sits.
 */
function packageForOtherUser(): string {
  const copy = realpathSync(mkdtempSync(join(tmpdir(), 'sstash-other-user-')))
  afterAll(() => rmSync(copy, { recursive: true, force: true }))
  for (const part of ['bin', 'dist', 'package.json', 'test/fixtures/stash/hold-lock.mjs', ...runtimeDependencies().map((name) => `node_modules/${name}`)])
    cpSync(join(ROOT, part), join(copy, part), { recursive: true, dereference: true })
  // Whatever the umask of the clone: readable (and its directories enterable) by everyone.
  execFileSync('chmod', ['-R', 'a+rX', copy])
  chmodSync(copy, 0o755)
  return copy
}

const candidate = otherUser()
// The second user must be able to run node itself; where it cannot (node under a private home), say so and skip.
const nodeRuns = candidate !== undefined && spawnSync(process.execPath, ['-e', '0'], { uid: candidate.uid, gid: candidate.gid, cwd: '/' }).status === 0
if (candidate !== undefined && !nodeRuns) console.warn(`skipped: the second user cannot run ${process.execPath}`)
const other = nodeRuns ? candidate : undefined
const otherPackage = other ? packageForOtherUser() : ROOT
const asOther = (bin: keyof typeof BIN, args: string[], options: RunOptions = {}): Promise<RunResult> =>
  runCommand(process.execPath, ['--', join(otherPackage, relative(ROOT, BIN[bin])), ...args], {
    timeoutMs: 10_000,
    ...options,
    user: other,
    env: { HOME: '/nonexistent', XDG_CACHE_HOME: undefined, NODE_DISABLE_COMPILE_CACHE: '1', SSTASH_PASSWORD: PASSWORD, ...options.env },
  })

describe.skipIf(!other)('another user and the lock, in a shared sticky directory (1777)', () => {
  const shared = other ? sharedDir(0o1777) : ''
  let n = 0
  // A stash of the second user, 0600, in the shared directory.
  async function theirStash(): Promise<string> {
    const path = join(shared, `theirs-${n++}.sstash`)
    await makeStash(path, PASSWORD, { a: '1' })
    chownSync(path, (other as TestUser).uid, (other as TestUser).gid)
    return path
  }

  it('cannot stop our writes with a lock file claiming a live process: it is no lock of ours, and is removed', async () => {
    const path = join(shared, 'ours.sstash')
    await makeStash(path, PASSWORD, { a: '1' })
    // pid 1 always runs: under the old rules this lock would be waited for, then fail every write.
    const planted = await runCommand('sh', ['-c', 'printf %s "$1" > "$0"', `${path}.lock`, `1\n${hostname()}\nfeedfeedfeedfeedfeedfeed\n\n`], { user: other })
    expect(planted.code).toBe(0)
    expect(statSync(`${path}.lock`).uid).toBe((other as TestUser).uid)
    const started = Date.now()
    const set = await runBin('sstash', ['--stash', path, 'set', 'a'], { env: { SSTASH_PASSWORD: PASSWORD }, input: '2', timeoutMs: 30_000 })
    expect(set).toMatchObject({ code: 0, stderr: '' })
    expect(Date.now() - started).toBeLessThan(8_000)
    expect(dec(await (await SecureStash.open(path, PASSWORD)).readValue(['a']))).toBe('2')
    expect(existsSync(`${path}.lock`)).toBe(false)
  }, 40_000)

  it('respects the live lock of the stash\'s owner when root writes the stash', async () => {
    const path = await theirStash()
    const holder = spawn(process.execPath, [join(otherPackage, 'test/fixtures/stash/hold-lock.mjs'), path, PASSWORD, 'fromOwner', 'o'], {
      uid: (other as TestUser).uid,
      gid: (other as TestUser).gid,
      env: { ...process.env, HOME: '/nonexistent', NODE_DISABLE_COMPILE_CACHE: '1' },
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    try {
      await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()))
      const set = runBin('sstash', ['--stash', path, 'set', 'fromRoot'], { env: { SSTASH_PASSWORD: PASSWORD }, input: 'r', timeoutMs: 30_000 })
      let done = false
      void set.then(() => (done = true))
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      expect(done).toBe(false)
      expect(statSync(`${path}.lock`).uid).toBe((other as TestUser).uid)
      holder.stdin.write('go\n')
      expect(await set).toMatchObject({ code: 0, stderr: '' })
    } finally {
      holder.kill()
    }
    const stash = await SecureStash.open(path, PASSWORD)
    expect((await stash.getChildren([])).sort()).toEqual(['a', 'fromOwner', 'fromRoot'])
  }, 40_000)

  it('ends set at once, without spinning, when a stale lock may not be removed (the unlink fails in a sticky directory)', async () => {
    const path = await theirStash()
    const before = readFileSync(path)
    // Root's lock of a process that is gone: judged stale, but the second user may not remove it.
    writeFileSync(`${path}.lock`, `2147483646\n${hostname()}\nfeedfeedfeedfeedfeedfeed\n\n`)
    utimesSync(`${path}.lock`, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000))
    const started = Date.now()
    const set = await asOther('sstash', ['--stash', path, 'set', 'a'], { input: '2' })
    expect(set.signal, 'killed by the test timeout: it spun').toBeNull()
    expect(Date.now() - started).toBeLessThan(8_000)
    expect(set.code).toBe(1)
    expect(set.stderr).toBe(
      `sstash: error: cannot remove the stale lock ${path}.lock (process 2147483646 is gone): operation not permitted\n` +
        `sstash: hint: another user can create files in ${shared}; ask them or root to remove it, or keep the stash in a directory of your own\n`,
    )
    expect(readFileSync(path).equals(before)).toBe(true)
    expect(existsSync(`${path}.lock`)).toBe(true)
  }, 40_000)

  it('ends set at once when a third user\'s lock file may not be removed', async () => {
    const path = await theirStash()
    writeFileSync(`${path}.lock`, `1\n${hostname()}\nfeedfeedfeedfeedfeedfeed\n\n`)
    chownSync(`${path}.lock`, 54321, 54321)
    const set = await asOther('sstash', ['--stash', path, 'set', 'a'], { input: '2' })
    expect(set.signal).toBeNull()
    expect(set.code).toBe(1)
    expect(set.stderr).toMatch(new RegExp(`^sstash: error: cannot remove the lock file ${path}\\.lock of another user \\(uid 54321\\): operation not permitted\nsstash: hint: `))
    const doctor = await asOther('sstash', ['--stash', path, 'doctor'])
    expect(doctor.stdout).toContain(`problem: ${path}.lock was made by another user (uid 54321)`)
  }, 40_000)
})

describe.skipIf(!other)('a stash another user may not read', () => {
  const shared = other ? sharedDir(0o755) : ''

  it('is reported as "cannot read <path>: permission denied" by get, set, doctor and git-credential-sstash get, never as missing', async () => {
    const path = join(shared, 'root-only.sstash')
    await makeStash(path, PASSWORD, { a: '1' })
    expect(statSync(path).mode & 0o777).toBe(0o600)
    const line = `cannot read ${path}: permission denied`
    expect(await asOther('sstash', ['--stash', path, 'get', 'a'])).toMatchObject({ code: 1, stderr: `sstash: error: ${line}\n` })
    expect(await asOther('sstash', ['--stash', path, 'set', 'a'], { input: '2' })).toMatchObject({ code: 1, stderr: `sstash: error: ${line}\n` })
    expect(await asOther('git', ['--stash', path, 'get'], { input: GIT_GET })).toMatchObject({ code: 1, stdout: '', stderr: `sstash: error: ${line}\n` })
    expect((await asOther('sstash', ['--stash', path, 'doctor'])).stdout).toContain(`problem: ${line}\n`)
  }, 40_000)

  it('is reported as "cannot read" when its directory may not be entered, not as "no stash at"', async () => {
    const closed = join(shared, 'closed')
    mkdirSync(closed, { mode: 0o700 })
    const path = join(closed, 's.sstash')
    await makeStash(path, PASSWORD, { a: '1' })
    const line = `cannot read ${path}: permission denied`
    expect(await asOther('sstash', ['--stash', path, 'get', 'a'])).toMatchObject({ code: 1, stderr: `sstash: error: ${line}\n` })
    expect(await asOther('git', ['--stash', path, 'get'], { input: GIT_GET })).toMatchObject({ code: 1, stdout: '', stderr: `sstash: error: ${line}\n` })
  }, 40_000)
})
