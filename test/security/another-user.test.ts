/**
 * A second Unix user against our stash and its lock: lock files planted in a shared sticky
 * directory, a lock that may not be removed, a stash the other user may not read. Real users
 * (skipped where the machine has no second user that can run node), real processes.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { SecureStash } from '../../src/index.js'
import { BIN, ROOT, makeStash, otherUser, runBin, runCommand, type RunOptions, type RunResult, type TestUser } from '../helpers.js'

const PASSWORD = 'pw'
const dec = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)
const GIT_GET = 'protocol=https\nhost=example.com\n\n'

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
