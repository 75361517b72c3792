/**
 * The stash's lock with real processes: a library writer that holds it for long, one stopped
 * with SIGSTOP, one whose lock is taken over, locks from another host and from reused pids.
 *
 * The old rule broke any lock older than 60 s. Rather than wait a minute, these tests set the
 * lock file's mtime an hour back (utimes): the lock then looks older than any age rule could
 * allow, while the test itself stays short. Production thresholds are never lowered.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync, readFileSync, renameSync, utimesSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SecureStash } from '../../../src/index.js'
import { judgeLock, lockOwners, lockPathOf, parseLock, readLock, withLock } from '../../../src/fs/lock.js'
import { alive, makeStash, ROOT, runBin, tempDir } from '../../helpers.js'

const dir = tempDir()
const HOLD = join(ROOT, 'test/fixtures/stash/hold-lock.mjs')
const PASSWORD = 'pw'
const env = { SSTASH_PASSWORD: PASSWORD }
const dec = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
let n = 0

interface Holder {
  child: ChildProcessWithoutNullStreams
  output: () => string
  exited: Promise<number | null>
}

/** Starts a library writer of `key` and resolves once it holds the lock. */
async function holdLock(path: string, key: string, value: string): Promise<Holder> {
  const child = spawn(process.execPath, [HOLD, path, PASSWORD, key, value], { stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
  const deadline = Date.now() + 20_000
  while (!out.includes('locked\n')) {
    if (Date.now() > deadline) throw new Error(`the holder never took the lock: ${out}`)
    await sleep(20)
  }
  return { child, output: () => out, exited }
}

const anHourAgo = (): Date => new Date(Date.now() - 3_600_000)

async function freshStash(): Promise<string> {
  const path = join(dir, `s${n++}.sstash`)
  await makeStash(path, PASSWORD, { existing: 'kept' })
  return path
}

async function values(path: string): Promise<Record<string, string>> {
  const stash = await SecureStash.open(path, PASSWORD)
  return Object.fromEntries((await stash.list()).map((entry) => [entry.key.join('/'), dec(entry.value)]))
}

describe('the lock of a live writer on this host', () => {
  it('is never broken, however old it looks: a library update that runs long and a concurrent sstash set both land', async () => {
    const path = await freshStash()
    const holder = await holdLock(path, 'fromA', 'a')
    const before = readFileSync(lockPathOf(path), 'utf8')
    utimesSync(lockPathOf(path), anHourAgo(), anHourAgo())
    const setB = runBin('sstash', ['--stash', path, 'set', 'fromB'], { env, input: 'b', timeoutMs: 40_000 })
    let doneB = false
    void setB.then(() => (doneB = true))
    await sleep(2_500)
    // Under the old rule B broke the "old" lock at once, wrote, and exited; A then renamed over it.
    expect(doneB).toBe(false)
    expect(readFileSync(lockPathOf(path), 'utf8')).toBe(before)
    holder.child.stdin.write('go\n')
    expect(await holder.exited).toBe(0)
    expect(holder.output()).toContain('written')
    expect(await setB).toMatchObject({ code: 0, stderr: '' })
    expect(await values(path)).toEqual({ existing: 'kept', fromA: 'a', fromB: 'b' })
    expect(existsSync(lockPathOf(path))).toBe(false)
  }, 60_000)

  it('is not broken while its writer is stopped with SIGSTOP, and both writes land once it goes on', async () => {
    const path = await freshStash()
    const holder = await holdLock(path, 'fromA', 'a')
    holder.child.kill('SIGSTOP')
    try {
      holder.child.stdin.write('go\n')
      utimesSync(lockPathOf(path), anHourAgo(), anHourAgo())
      const setB = runBin('sstash', ['--stash', path, 'set', 'fromB'], { env, input: 'b', timeoutMs: 40_000 })
      let doneB = false
      void setB.then(() => (doneB = true))
      await sleep(2_500)
      expect(doneB).toBe(false)
      expect(parseLock(readFileSync(lockPathOf(path), 'utf8'))?.pid).toBe(holder.child.pid)
      holder.child.kill('SIGCONT')
      expect(await holder.exited).toBe(0)
      expect(await setB).toMatchObject({ code: 0, stderr: '' })
    } finally {
      holder.child.kill('SIGCONT')
    }
    expect(await values(path)).toEqual({ existing: 'kept', fromA: 'a', fromB: 'b' })
  }, 60_000)
})

describe('a lock taken over while it is held', () => {
  it('makes the write fail with LOCK_LOST instead of replacing the other writer\'s work', async () => {
    const path = await freshStash()
    const before = readFileSync(path)
    const holder = await holdLock(path, 'fromA', 'a')
    // Another writer's lock now stands where ours was (as if ours had been broken).
    const theirs = `${process.pid}\n${hostname()}\n0123456789abcdef01234567\n\n`
    writeFileSync(join(dir, 'theirs.lock'), theirs)
    renameSync(join(dir, 'theirs.lock'), lockPathOf(path))
    holder.child.stdin.write('go\n')
    expect(await holder.exited).toBe(1)
    expect(holder.output()).toMatch(new RegExp(`^LOCK_LOST .* was not written: its lock .* was taken over by process ${process.pid} on `, 'm'))
    expect(readFileSync(path).equals(before)).toBe(true)
    // The other writer's lock is left alone.
    expect(readFileSync(lockPathOf(path), 'utf8')).toBe(theirs)
  }, 60_000)
})

describe('a lock whose owner cannot be checked or is gone', () => {
  it.skipIf(!existsSync('/proc/self/stat'))('is broken when its pid now belongs to another process (a reused pid, told by the start time)', async () => {
    const path = await freshStash()
    const other = spawn('sleep', ['30'])
    try {
      expect(alive(other.pid as number)).toBe(true)
      writeFileSync(lockPathOf(path), `${other.pid}\n${hostname()}\nfeedfeedfeedfeedfeedfeed\n1\n`)
      const started = Date.now()
      await (await SecureStash.open(path, PASSWORD)).writeValue(['k'], new TextEncoder().encode('v'))
      expect(Date.now() - started).toBeLessThan(3_000)
      expect(existsSync(lockPathOf(path))).toBe(false)
    } finally {
      other.kill()
    }
  })

  it.skipIf(!existsSync('/proc/self/stat'))('is kept when its pid runs with the start time it names, until the wait ends with LOCK_TIMEOUT', async () => {
    const path = await freshStash()
    const other = spawn('sleep', ['30'])
    try {
      await sleep(100)
      const stat = readFileSync(`/proc/${other.pid}/stat`, 'latin1')
      const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
      const text = `${other.pid}\n${hostname()}\nfeedfeedfeedfeedfeedfeed\n${start}\n`
      writeFileSync(lockPathOf(path), text)
      utimesSync(lockPathOf(path), anHourAgo(), anHourAgo())
      const error = await withLock(path, async () => 'ran', 400).catch((e: unknown) => e)
      expect(error).toMatchObject({ code: 'LOCK_TIMEOUT', message: `${path} is locked by process ${other.pid}, which is still running` })
      expect(readFileSync(lockPathOf(path), 'utf8')).toBe(text)
    } finally {
      other.kill()
    }
  })

  it('is never broken when it comes from another host: the wait ends with LOCK_TIMEOUT naming the host and the file', async () => {
    const path = await freshStash()
    const text = `4242\nbuild-box.example\nfeedfeedfeedfeedfeedfeed\n\n`
    writeFileSync(lockPathOf(path), text)
    utimesSync(lockPathOf(path), anHourAgo(), anHourAgo())
    const lock = readLock(lockPathOf(path))
    expect(lock && judgeLock(lock, lockOwners(path))).toBe('remote')
    const started = Date.now()
    const error = await withLock(path, async () => 'ran', 400).catch((e: unknown) => e)
    expect(Date.now() - started).toBeLessThan(3_000)
    expect(error).toMatchObject({
      code: 'LOCK_TIMEOUT',
      message: `${path} is locked by process 4242 on build-box.example`,
      hint: `sstash cannot see whether it still runs there; if no sstash runs on build-box.example, remove ${lockPathOf(path)}`,
    })
    expect(readFileSync(lockPathOf(path), 'utf8')).toBe(text)
    const doctor = await runBin('sstash', ['--stash', path, 'doctor'])
    expect(doctor.stdout).toContain(`warning: lock ${lockPathOf(path)} held by process 4242 on build-box.example: sstash cannot see whether it still runs, and never breaks it\n`)
  })

  it('is broken at once when it names no owner and is not new (an empty lock file left behind)', async () => {
    const path = await freshStash()
    writeFileSync(lockPathOf(path), '')
    utimesSync(lockPathOf(path), anHourAgo(), anHourAgo())
    await (await SecureStash.open(path, PASSWORD)).writeValue(['k'], new TextEncoder().encode('v'))
    expect(existsSync(lockPathOf(path))).toBe(false)
  })
})

describe('the lock file format', () => {
  it('is parsed in one place, old three-line locks included', () => {
    expect(parseLock('123\nhost\nabc\n456\n')).toEqual({ pid: 123, host: 'host', nonce: 'abc', start: '456' })
    expect(parseLock('123\nhost\nabc\n')).toEqual({ pid: 123, host: 'host', nonce: 'abc', start: '' })
    for (const bad of ['', '\n', '0\nhost\n', '-1\nhost\n', 'x\nhost\n', '12\n\n', '1e3\nhost\n'])
      expect(parseLock(bad), JSON.stringify(bad)).toBeUndefined()
  })
})
