/**
 * The agent and its client, with real agent processes (dist/cli/agent.js, so build first)
 * and real unix sockets. Every test has its own XDG_RUNTIME_DIR, so no test ever talks to
 * a real user's agent, and every agent started here is killed in afterAll.
 */
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync, existsSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { connect } from 'node:net'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { SecureStash, SSCryptoError } from '../../../src/index.js'
import { agentGetKey, agentLock, agentStatus, agentUnlock, agentRead, agentReadTree, agentWriteValues } from '../../../src/agent/client.js'
import { MAX_REQUEST_BYTES } from '../../../src/agent/protocol.js'
import { openStash, readStash, writeValues } from '../../../src/unlock/open.js'
import { ROOT, makeStash, otherUser, runCommand, tempDir, alive, waitFor } from '../../helpers.js'
import { SOCKET_NAME, agentDir } from '../../../src/locations.js'

const root = tempDir()
const agentPids = new Set<number>()
const runtimeDirs: string[] = []
let counter = 0

type Env = Record<string, string | undefined>

/** A fresh XDG_RUNTIME_DIR (0700) and a stash holding `token`, with no password variables. */
async function setup(password = 'correct horse') {
  const dir = join(root, `case-${++counter}`)
  mkdirSync(dir, { mode: 0o700 })
  const runtime = join(dir, 'run')
  mkdirSync(runtime, { mode: 0o700 })
  runtimeDirs.push(runtime)
  const env: Env = { XDG_RUNTIME_DIR: runtime, PATH: process.env.PATH }
  const path = join(dir, 'test.sstash')
  const stash = await makeStash(path, password, { 'svc/token': 'tok-123' })
  return { dir, runtime, env, path, stash }
}

async function unlockInAgent(stash: SecureStash, env: Env, timeoutMs = 60_000): Promise<number> {
  const expiresAt = await agentUnlock(stash.path, await stash.exportKey(), timeoutMs, env)
  const status = await agentStatus(env)
  if (status) agentPids.add(status.pid)
  return expiresAt
}

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)

/** Sends raw bytes to the agent socket and returns what it answers (or '' when it hangs up). */
function rawRequest(socketPath: string, payload: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath)
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error('no answer'))
    }, 5_000)
    socket.on('connect', () => socket.write(payload))
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(Buffer.concat(chunks).toString('utf8'))
    })
  })
}

afterAll(async () => {
  for (const runtime of runtimeDirs) {
    const dir = join(runtime, 'sstash')
    try {
      chownSync(dir, process.getuid!(), process.getgid!())
      chmodSync(dir, 0o700)
    } catch {
      // not there, or a symlink: nothing to restore
    }
    const status = await agentStatus({ XDG_RUNTIME_DIR: runtime }).catch(() => undefined)
    if (status) agentPids.add(status.pid)
  }
  for (const pid of agentPids) if (alive(pid)) process.kill(pid, 'SIGKILL')
})

describe('the agent', () => {
  it('is started on first unlock, serves the key, and lists paths and expiry without secrets', async () => {
    const { env, path, stash, runtime } = await setup()
    expect(await agentStatus(env)).toBeUndefined()
    const expiresAt = await unlockInAgent(stash, env, 60_000)
    expect(expiresAt).toBeGreaterThan(Date.now() + 50_000)

    const status = await agentStatus(env)
    expect(status?.entries).toEqual([{ path: stash.path, unlockedAt: expect.any(Number), expiresAt }])
    const { key } = await stash.exportKey()
    expect(JSON.stringify(status)).not.toContain(Buffer.from(key).toString('base64'))
    expect(JSON.stringify(status)).not.toContain(Buffer.from(key).toString('hex'))

    // The directory is 0700, the socket 0600, both ours.
    const dirInfo = lstatSync(join(runtime, 'sstash'))
    expect(dirInfo.mode & 0o777).toBe(0o700)
    const sockInfo = lstatSync(join(runtime, 'sstash', SOCKET_NAME))
    expect(sockInfo.isSocket()).toBe(true)
    expect(sockInfo.mode & 0o777).toBe(0o600)

    // No password source at all: the agent alone opens the stash, reads and writes work.
    const opened = await openStash(path, { env, prompt: false })
    expect(text(await opened.readValue(['svc', 'token']))).toBe('tok-123')
    await opened.writeValue(['svc', 'other'], new TextEncoder().encode('v2'))
    const check = await SecureStash.open(path, 'correct horse')
    expect(text(await check.readValue(['svc', 'other']))).toBe('v2')
  })

  it('is started without the password variables in its environment, detached from the caller', async () => {
    const { env, stash } = await setup()
    const secrets = { SSTASH_PASSWORD: 'pw-in-env-1', SSTASH_PASSWORD_FILE: '/pw-in-env-2', SSTASH_ASKPASS: '/pw-in-env-3', SSTASH_NEW_PASSWORD: 'pw-in-env-4' }
    await unlockInAgent(stash, { ...env, ...secrets })
    const pid = (await agentStatus(env))!.pid
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8')
    for (const value of Object.values(secrets)) expect(environ).not.toContain(value)
    expect(environ).toContain(`XDG_RUNTIME_DIR=${env.XDG_RUNTIME_DIR}`)
    // Its own session, so closing the terminal that started it does not hang it up.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    expect(Number(stat[3])).toBe(pid)
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).not.toContain(secrets.SSTASH_PASSWORD)
  })

  it('serves a stash through a symlink by its real path', async () => {
    const { dir, env, stash } = await setup()
    await unlockInAgent(stash, env)
    const link = join(dir, 'link.sstash')
    symlinkSync(stash.path, link)
    const opened = await openStash(link, { env, prompt: false })
    expect(text(await opened.readValue(['svc', 'token']))).toBe('tok-123')
  })

  it('forgets one stash on lock, and exits after lock --all', async () => {
    const a = await setup()
    const other = await makeStash(join(a.dir, 'other.sstash'), 'pw2', { k: 'v' })
    await unlockInAgent(a.stash, a.env)
    await unlockInAgent(other, a.env)
    const pid = (await agentStatus(a.env))!.pid
    expect((await agentStatus(a.env))?.entries.map((e) => e.path).sort()).toEqual([a.stash.path, other.path].sort())

    expect(await agentLock(a.stash.path, a.env)).toBe(1)
    expect(await agentLock(a.stash.path, a.env)).toBe(0)
    await expect(openStash(a.path, { env: a.env, prompt: false })).rejects.toMatchObject({ code: 'NO_PASSWORD' })
    expect((await agentStatus(a.env))?.entries.map((e) => e.path)).toEqual([other.path])

    expect(await agentLock(undefined, a.env)).toBe(1)
    await waitFor(() => !alive(pid))
    expect(existsSync(join(a.runtime, 'sstash', SOCKET_NAME))).toBe(false)
    expect(await agentStatus(a.env)).toBeUndefined()
    expect(await agentLock(undefined, a.env)).toBe(0)
  })

  it('forgets a stash when its timeout expires, counted from unlock, then exits', async () => {
    const { env, path, stash } = await setup()
    await unlockInAgent(stash, env, 1_500)
    const pid = (await agentStatus(env))!.pid
    // Using the stash does not extend the timeout.
    await openStash(path, { env, prompt: false })
    await waitFor(() => !alive(pid), 6_000)
    await expect(openStash(path, { env, prompt: false })).rejects.toMatchObject({ code: 'NO_PASSWORD' })
  })

  it('does not cache a wrong password, and caches a right one from askpass unless SSTASH_AGENT_TIMEOUT is 0', async () => {
    const { dir, env, path } = await setup()
    const askpass = (name: string, password: string): string => {
      const file = join(dir, name)
      writeFileSync(file, `#!/bin/sh\nprintf '%s\\n' '${password}'\n`, { mode: 0o755 })
      return file
    }
    const wrong = { ...env, SSTASH_AGENT_TIMEOUT: '1m', SSTASH_ASKPASS: askpass('wrong.sh', 'nope') }
    await expect(openStash(path, { env: wrong, prompt: false })).rejects.toBeInstanceOf(SSCryptoError)
    expect(await agentStatus(env)).toBeUndefined()

    // A right password from a non-interactive variable is not cached either: it is there next time anyway.
    await openStash(path, { env: { ...env, SSTASH_AGENT_TIMEOUT: '1m', SSTASH_PASSWORD: 'correct horse' }, prompt: false })
    expect(await agentStatus(env)).toBeUndefined()

    // Turned off, askpass does not cache.
    await openStash(path, { env: { ...env, SSTASH_AGENT_TIMEOUT: '0', SSTASH_ASKPASS: askpass('right.sh', 'correct horse') }, prompt: false })
    expect(await agentStatus(env)).toBeUndefined()

    const right = { ...env, SSTASH_AGENT_TIMEOUT: '1m', SSTASH_ASKPASS: askpass('right.sh', 'correct horse') }
    await openStash(path, { env: right, prompt: false })
    const status = await agentStatus(env)
    expect(status?.entries.length).toBe(1)
    agentPids.add(status!.pid)
    expect(status!.entries[0]!.expiresAt - status!.entries[0]!.unlockedAt).toBe(60_000)
    const opened = await openStash(path, { env, prompt: false })
    expect(text(await opened.readValue(['svc', 'token']))).toBe('tok-123')
  })

  it('refuses a bad SSTASH_AGENT_TIMEOUT before asking for a password', async () => {
    const { env, path } = await setup()
    await expect(
      openStash(path, { env: { ...env, SSTASH_AGENT_TIMEOUT: 'soon', SSTASH_PASSWORD: 'correct horse' }, prompt: false }),
    ).rejects.toMatchObject({ code: 'BAD_DURATION' })
  })

  it('stops serving a stash whose password changed, and clients fall back to other sources', async () => {
    const { env, path, stash } = await setup()
    await unlockInAgent(stash, env)
    const pid = (await agentStatus(env))!.pid
    const writer = await SecureStash.open(path, 'correct horse')
    await writer.changePassword('new password')

    await expect(openStash(path, { env, prompt: false })).rejects.toMatchObject({ code: 'NO_PASSWORD' })
    const fallback = await openStash(path, { env: { ...env, SSTASH_PASSWORD: 'new password' }, prompt: false })
    expect(text(await fallback.readValue(['svc', 'token']))).toBe('tok-123')
    // The stale key was dropped; it was the only one, so the agent exited.
    await waitFor(() => !alive(pid))
  })

  it('is replaced cleanly after SIGKILL, and clients fall back at once meanwhile', async () => {
    const { env, path, stash, runtime } = await setup()
    await unlockInAgent(stash, env)
    const pid = (await agentStatus(env))!.pid
    process.kill(pid, 'SIGKILL')
    await waitFor(() => !alive(pid))
    // The killed agent left its socket behind: a stale one, refused at once.
    expect(lstatSync(join(runtime, 'sstash', SOCKET_NAME)).isSocket()).toBe(true)

    const started = Date.now()
    await expect(openStash(path, { env, prompt: false })).rejects.toMatchObject({ code: 'NO_PASSWORD' })
    expect(await agentGetKey(stash.path, (await stash.exportKey()).keyId, env)).toBeUndefined()
    expect(Date.now() - started).toBeLessThan(500)
    const fallback = await openStash(path, { env: { ...env, SSTASH_PASSWORD: 'correct horse' }, prompt: false })
    expect(text(await fallback.readValue(['svc', 'token']))).toBe('tok-123')

    await unlockInAgent(stash, env)
    const fresh = (await agentStatus(env))!.pid
    expect(fresh).not.toBe(pid)
    const opened = await openStash(path, { env, prompt: false })
    expect(text(await opened.readValue(['svc', 'token']))).toBe('tok-123')
  })

  it('serves 20 concurrent client processes', async () => {
    const { env, path, stash } = await setup()
    await unlockInAgent(stash, env)
    const unlockUrl = new URL('dist/unlock/open.js', `file://${ROOT}/`).href
    const script = `import { openStash } from ${JSON.stringify(unlockUrl)}
const path = process.argv[1]
const stash = await openStash(path, { prompt: false })
process.stdout.write(new TextDecoder().decode(await stash.readValue(['svc', 'token'])))`
    const runs = await Promise.all(
      Array.from({ length: 20 }, () =>
        runCommand(process.execPath, ['--input-type=module', '-e', script, path], { env: { ...env, HOME: process.env.HOME } }),
      ),
    )
    for (const run of runs) expect({ out: run.stdout, err: run.stderr, code: run.code }).toEqual({ out: 'tok-123', err: '', code: 0 })
    // And 20 at once from one process.
    const { keyId } = await stash.exportKey()
    const keys = await Promise.all(Array.from({ length: 20 }, () => agentGetKey(stash.path, keyId, env)))
    for (const key of keys) expect(key).toBeInstanceOf(Uint8Array)
  })

  it('is given up on after a bounded wait when it is alive but does not answer (SIGSTOP)', async () => {
    const { env, path, stash } = await setup()
    await unlockInAgent(stash, env)
    const pid = (await agentStatus(env))!.pid
    process.kill(pid, 'SIGSTOP')
    try {
      const started = Date.now()
      const opened = await openStash(path, { env: { ...env, SSTASH_PASSWORD: 'correct horse' }, prompt: false })
      expect(text(await opened.readValue(['svc', 'token']))).toBe('tok-123')
      expect(Date.now() - started).toBeLessThan(6_000)
    } finally {
      process.kill(pid, 'SIGCONT')
    }
    // Once it runs again it serves as before.
    const again = await openStash(path, { env, prompt: false })
    expect(text(await again.readValue(['svc', 'token']))).toBe('tok-123')
  })

  it('ends with one agent when several clients start one at the same time', async () => {
    const { env, dir, stash } = await setup()
    const others = await Promise.all([1, 2, 3, 4].map((n) => makeStash(join(dir, `s${n}.sstash`), 'pw', { k: `v${n}` })))
    const all = [stash, ...others]
    await Promise.all(all.map(async (s) => agentUnlock(s.path, await s.exportKey(), 60_000, env)))
    const status = await agentStatus(env)
    agentPids.add(status!.pid)
    expect(status!.entries.map((e) => e.path).sort()).toEqual(all.map((s) => s.path).sort())
  })

  it('survives clients killed mid-request and rejects malformed or oversized requests', async () => {
    const { env, path, stash, runtime } = await setup()
    await unlockInAgent(stash, env)
    const socketPath = join(runtime, 'sstash', SOCKET_NAME)

    // A real client process killed with half a request sent.
    const half = `const s = require('node:net').connect(${JSON.stringify(socketPath)}); s.on('connect', () => { s.write('{"v":1,"op":"get","pa'); console.log('sent') }); setInterval(() => {}, 1000)`
    const child = (await import('node:child_process')).spawn(process.execPath, ['-e', half], { stdio: ['ignore', 'pipe', 'ignore'] })
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()))
    child.kill('SIGKILL')
    await new Promise((resolve) => child.once('exit', resolve))

    expect(JSON.parse(await rawRequest(socketPath, 'not json\n'))).toEqual({ ok: false, error: 'malformed request' })
    expect(JSON.parse(await rawRequest(socketPath, '[1,2]\n'))).toEqual({ ok: false, error: 'malformed request' })
    expect(JSON.parse(await rawRequest(socketPath, '{"v":1,"op":"get","path":"relative","keyId":"00"}\n'))).toMatchObject({ ok: false })
    expect(JSON.parse(await rawRequest(socketPath, '{"v":1,"op":"nope"}\n'))).toEqual({ ok: false, error: 'unknown request' })
    expect(JSON.parse(await rawRequest(socketPath, '{"v":99,"op":"status"}\n'))).toMatchObject({ ok: false })
    expect(
      JSON.parse(await rawRequest(socketPath, `{"v":1,"op":"unlock","path":"/x","keyId":"${'a'.repeat(32)}","key":"!!","timeoutMs":1000}\n`)),
    ).toMatchObject({ ok: false })
    expect(JSON.parse(await rawRequest(socketPath, Buffer.alloc(MAX_REQUEST_BYTES + 1, 'a')))).toEqual({ ok: false, error: 'request too large' })

    const opened = await openStash(path, { env, prompt: false })
    expect(text(await opened.readValue(['svc', 'token']))).toBe('tok-123')
  })

  it('hands out nothing for a key id it does not hold', async () => {
    const { env, stash } = await setup()
    await unlockInAgent(stash, env)
    expect(await agentGetKey(stash.path, 'f'.repeat(32), env)).toBeUndefined()
    expect(await agentGetKey(`${stash.path}.other`, (await stash.exportKey()).keyId, env)).toBeUndefined()
    // The file itself did not change: a wrong key id from a client does not evict the entry.
    expect(await agentGetKey(stash.path, (await stash.exportKey()).keyId, env)).toBeInstanceOf(Uint8Array)
  })
})

/** The agent's memory from /proc: `VmRSS` now and `VmHWM` (the peak), in MiB. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1])
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 }
}

/** Asserts the agent answers `status` at once: its event loop is not blocked. */
async function answersAtOnce(env: Env): Promise<void> {
  const started = Date.now()
  expect((await agentStatus(env))?.entries.length).toBeGreaterThan(0)
  expect(Date.now() - started).toBeLessThan(1_000)
}

/** Sends SIGTERM and waits for the agent to be gone. */
async function exitsOnSigterm(pid: number): Promise<void> {
  process.kill(pid, 'SIGTERM')
  await waitFor(() => !alive(pid), 5_000)
}

describe('an agent that never blocks', () => {
  it('still answers other clients and exits on SIGTERM after requests about a FIFO, a symlink to a FIFO and /dev/zero', async () => {
    const { dir, env, path, stash, runtime } = await setup()
    await unlockInAgent(stash, env)
    const pid = (await agentStatus(env))!.pid
    const socketPath = join(runtime, 'sstash', SOCKET_NAME)
    const fifo = join(dir, 'fifo.sstash')
    execFileSync('mkfifo', [fifo])
    const link = join(dir, 'link-to-fifo.sstash')
    symlinkSync(fifo, link)
    const { key } = await stash.exportKey()
    for (const odd of [fifo, link, '/dev/zero']) {
      // Held under that path, as a client that unlocked it before the file was swapped would leave it.
      const unlock = { v: 1, op: 'unlock', path: odd, keyId: 'a'.repeat(32), key: Buffer.from(key).toString('base64'), timeoutMs: 60_000 }
      expect(JSON.parse(await rawRequest(socketPath, `${JSON.stringify(unlock)}\n`))).toMatchObject({ ok: true })
      expect(await agentReadTree(odd, [[]], env)).toBeUndefined()
      await answersAtOnce(env)
      expect(await agentWriteValues(odd, [[['k'], new Uint8Array([1])]], env)).toBe(false)
      await answersAtOnce(env)
      // Another key id makes the agent look at the file: not a stash, so the entry is dropped.
      expect(await agentGetKey(odd, 'b'.repeat(32), env)).toBeUndefined()
      await answersAtOnce(env)
    }
    const opened = await openStash(path, { env, prompt: false })
    expect(text(await opened.readValue(['svc', 'token']))).toBe('tok-123')
    await exitsOnSigterm(pid)
  })

  it('answers a write whose lock file is a FIFO with the error, and still exits on SIGTERM', async () => {
    const { env, path, stash } = await setup()
    await unlockInAgent(stash, env)
    const pid = (await agentStatus(env))!.pid
    execFileSync('mkfifo', [`${stash.path}.lock`])
    const started = Date.now()
    await expect(agentWriteValues(stash.path, [[['k'], new Uint8Array([1])]], env)).rejects.toMatchObject({
      code: 'NOT_A_FILE',
      message: expect.stringContaining(`${stash.path}.lock`),
    })
    expect(Date.now() - started).toBeLessThan(3_000)
    await answersAtOnce(env)
    expect(text((await readStash(path, [['svc']], { env })).read(['svc', 'token']))).toBe('tok-123')
    await exitsOnSigterm(pid)
  })

  it('serves other clients at once while 500 connections send half a request and wait', async () => {
    const { env, runtime, stash } = await setup()
    await unlockInAgent(stash, env)
    const socketPath = join(runtime, 'sstash', SOCKET_NAME)
    let connected = 0
    const sockets = Array.from({ length: 500 }, () =>
      connect(socketPath)
        .on('error', () => {})
        .on('connect', function (this: ReturnType<typeof connect>) {
          connected++
          this.write('{"v":1,"op":"get","pa')
        }),
    )
    try {
      await waitFor(() => connected === 500, 20_000)
      await answersAtOnce(env)
      expect(await agentGetKey(stash.path, (await stash.exportKey()).keyId, env)).toBeInstanceOf(Uint8Array)
    } finally {
      for (const socket of sockets) socket.destroy()
    }
  })

  it('holds a bounded amount of memory for 60 unterminated 15 MiB requests, and serves others meanwhile', async () => {
    const { env, stash, runtime } = await setup()
    await unlockInAgent(stash, env)
    const pid = (await agentStatus(env))!.pid
    const before = memoryOf(pid)
    const socketPath = join(runtime, 'sstash', SOCKET_NAME)
    // One 1 MiB buffer, written 15 times per connection: the test itself holds almost nothing.
    const mib = Buffer.alloc(1024 * 1024, 'a')
    const answers: string[] = []
    let connected = 0
    const sockets = Array.from({ length: 60 }, () => {
      const socket = connect(socketPath)
      socket.on('error', () => {})
      socket.on('data', (chunk: Buffer) => answers.push(chunk.toString('utf8')))
      socket.on('connect', () => {
        connected++
        for (let i = 0; i < 15; i++) socket.write(mib)
      })
      return socket
    })
    try {
      // Every connection has either sent its 15 MiB or been refused.
      await waitFor(() => connected === 60 && sockets.every((socket) => socket.writableLength === 0 || socket.destroyed), 60_000)
      await answersAtOnce(env)
      const after = memoryOf(pid)
      // Without the budget this peaked near 1 GiB; now the unanswered requests hold at most 48 MiB
      // (what was read past a refusal is dropped, and waits for the garbage collector).
      expect(after.peak - before.rss, JSON.stringify({ before, after })).toBeLessThan(250)
      expect(answers.join('')).toContain('"error":"busy"')
    } finally {
      for (const socket of sockets) socket.destroy()
    }
    // Ops that carry no values are refused beyond 64 KiB.
    const bigRead = { v: 1, op: 'read', path: stash.path, keys: [['x'.repeat(70_000)]] }
    expect(JSON.parse(await rawRequest(socketPath, `${JSON.stringify(bigRead)}\n`))).toEqual({ ok: false, error: 'request too large' })
    expect(await agentWriteValues(stash.path, [[['after'], new Uint8Array(4 * 1024 * 1024)]], env)).toBe(true)
  })
})

describe('the agent directory', () => {
  const unsafeCases: [string, (dir: string) => void][] = [
    ['a mode other than 0700', (dir) => {
      mkdirSync(dir)
      chmodSync(dir, 0o755)
    }],
    ['another owner', (dir) => {
      mkdirSync(dir, { mode: 0o700 })
      chownSync(dir, 65534, 65534)
    }],
    ['a symlink', (dir) => {
      const target = `${dir}-target`
      mkdirSync(target, { mode: 0o700 })
      symlinkSync(target, dir)
    }],
  ]

  for (const [what, make] of unsafeCases) {
    it(`means no agent to clients, and is refused by unlock, status and the agent itself when it has ${what}`, async () => {
      const { env, path, stash, runtime } = await setup()
      const dir = agentDir(env)
      make(dir)
      // Clients use the other password sources: none here, so NO_PASSWORD; with one, the stash opens.
      await expect(openStash(path, { env, prompt: false })).rejects.toMatchObject({ code: 'NO_PASSWORD' })
      const opened = await openStash(path, { env: { ...env, SSTASH_PASSWORD: 'correct horse' }, prompt: false })
      expect(text(await opened.readValue(['svc', 'token']))).toBe('tok-123')
      expect(await agentReadTree(stash.path, [[]], env)).toBeUndefined()
      expect(await agentLock(undefined, env)).toBe(0)

      const unsafe = expect.objectContaining({ code: 'AGENT_UNSAFE', message: expect.stringContaining(dir), hint: expect.any(String) })
      await expect(agentUnlock(stash.path, await stash.exportKey(), 60_000, env)).rejects.toEqual(unsafe)
      await expect(agentStatus(env)).rejects.toEqual(unsafe)

      // The agent itself, started by hand on that directory, refuses too and creates no socket.
      const run = await runCommand(process.execPath, [join(ROOT, 'dist/cli/agent.js'), dir], { env, timeoutMs: 10_000 })
      expect(run.code).toBe(1)
      expect(existsSync(join(runtime, 'sstash', SOCKET_NAME))).toBe(false)
    })
  }

  it.skipIf(!otherUser())('keeps another user from reaching the socket, even in a shared parent', async () => {
    const { stash } = await setup()
    const shared = tempDir()
    chmodSync(shared, 0o1777)
    const env: Env = { XDG_RUNTIME_DIR: shared, PATH: process.env.PATH }
    runtimeDirs.push(shared)
    await unlockInAgent(stash, env)
    const socketPath = join(shared, 'sstash', SOCKET_NAME)
    const probe = `require('node:net').connect(${JSON.stringify(socketPath)}).on('connect', () => process.exit(0)).on('error', (e) => { console.log(e.code); process.exit(1) })`
    const run = await runCommand(process.execPath, ['-e', probe], { user: otherUser(), cwd: '/' })
    expect({ code: run.code, out: run.stdout }).toEqual({ code: 1, out: 'EACCES\n' })
    expect((await agentStatus(env))?.entries).toHaveLength(1)
  })

  it('is refused in a parent another user can rename it in', async () => {
    const { env, stash, runtime } = await setup()
    chmodSync(runtime, 0o777)
    await expect(agentUnlock(stash.path, await stash.exportKey(), 60_000, env)).rejects.toMatchObject({
      code: 'AGENT_UNSAFE',
      message: expect.stringContaining('anyone can write there'),
    })
    chmodSync(runtime, 0o1777)
    await unlockInAgent(stash, env)
    expect((await agentStatus(env))?.entries).toHaveLength(1)
  })

  it('is given up on once its mode changes under a running agent', async () => {
    const { env, path, stash } = await setup()
    await unlockInAgent(stash, env)
    chmodSync(agentDir(env), 0o711)
    await expect(openStash(path, { env, prompt: false })).rejects.toMatchObject({ code: 'NO_PASSWORD' })
    await expect(agentStatus(env)).rejects.toMatchObject({ code: 'AGENT_UNSAFE' })
    chmodSync(agentDir(env), 0o700)
    expect(text(await (await openStash(path, { env, prompt: false })).readValue(['svc', 'token']))).toBe('tok-123')
  })

  it('is under the state directory without XDG_RUNTIME_DIR, and in /tmp only when the socket path would be too long', () => {
    const home = homedir()
    const state = process.platform === 'darwin' ? join(home, 'Library/Application Support/sstash/agent') : join(home, '.local/state/sstash/agent')
    expect(agentDir({})).toBe(state)
    expect(agentDir({ XDG_RUNTIME_DIR: 'relative' })).toBe(state)
    expect(agentDir({ XDG_RUNTIME_DIR: '/run/user/7' })).toBe('/run/user/7/sstash')
    expect(agentDir({ XDG_STATE_HOME: '/home/u/.state' })).toBe('/home/u/.state/sstash/agent')
    // 103 bytes is the longest socket path every system takes (sun_path, NUL included, on macOS).
    const fits = `/${'d'.repeat(103 - '/sstash/agent/agent.sock'.length - 1)}`
    expect(`${agentDir({ XDG_STATE_HOME: fits })}/agent.sock`).toHaveLength(103)
    expect(agentDir({ XDG_STATE_HOME: `${fits}x` })).toBe(`/tmp/sstash-${process.getuid!()}`)
    expect(agentDir({ XDG_RUNTIME_DIR: `/${'r'.repeat(100)}`, XDG_STATE_HOME: '/s' })).toBe('/s/sstash/agent')
  })
})

describe('reads and writes done by the agent', () => {
  it('decrypts for a reader and sends only the subtrees asked for', async () => {
    const { env, stash } = await setup()
    await stash.update((tree) => {
      tree.write(['other', 'secret'], new TextEncoder().encode('not sent'))
      tree.write(['svc', 'nested', 'x'], new TextEncoder().encode('y'))
    })
    await unlockInAgent(stash, env)
    const tree = await agentReadTree(stash.path, [['svc'], ['missing', 'key']], env)
    expect(tree?.entries([]).map((e) => [e.key.join('/'), text(e.value)])).toEqual([
      ['svc/token', 'tok-123'],
      ['svc/nested/x', 'y'],
    ])
    expect(tree?.find(['other'])).toBeUndefined()
  })

  it('tells how much of each missing key exists, so that a lookup fails at the same segment as without the agent', async () => {
    const { env, stash, runtime } = await setup()
    await unlockInAgent(stash, env)
    const keys = [['svc', 'tokn'], ['svc', 'token', 'deeper'], ['nope', 'x'], ['svc']]
    const read = { v: 1, op: 'read', path: stash.path, keys }
    const answer = JSON.parse(await rawRequest(join(runtime, 'sstash', SOCKET_NAME), `${JSON.stringify(read)}\n`))
    expect(answer.missing).toEqual([[0, 1], [1, 2], [2, 0]])

    const viaAgent = (await agentReadTree(stash.path, keys, env))!
    const whole = await stash.view((tree) => tree)
    const failure = (fn: () => unknown): unknown => {
      try {
        fn()
      } catch (error) {
        return error
      }
      throw new Error('no error')
    }
    for (const key of keys.slice(0, 3)) {
      const expected = failure(() => whole.read(key)) as Error
      expect(failure(() => viaAgent.read(key)), key.join('/')).toMatchObject({ name: expected.name, message: expected.message, code: (expected as { code?: string }).code })
      expect(failure(() => viaAgent.entries(key))).toMatchObject({ message: (failure(() => whole.entries(key)) as Error).message })
    }
    expect(text(viaAgent.read(['svc', 'token']))).toBe('tok-123')
  })

  it('says "held: false" only for a path it holds no key for, and a reader then opens the stash by its password', async () => {
    const { dir, env, runtime, stash } = await setup()
    const other = await makeStash(join(dir, 'other.sstash'), 'other password', { 'a/b': 'other-value' })
    await unlockInAgent(stash, env)
    const read = async (path: string): Promise<unknown> => JSON.parse(await rawRequest(join(runtime, 'sstash', SOCKET_NAME), `${JSON.stringify({ v: 1, op: 'read', path, keys: [[]] })}\n`))
    expect(await read(other.path)).toEqual({ ok: true, found: false, held: false })
    expect(await agentRead(other.path, [[]], env)).toEqual({ agent: false })
    expect(text((await readStash(other.path, [['a']], { env: { ...env, SSTASH_PASSWORD: 'other password' } })).read(['a', 'b']) as Uint8Array)).toBe('other-value')
    // A key it holds for a file it cannot decrypt now (damaged): not "held: false", so a
    // reader still asks for the key, and the damaged file gets its own error.
    const bytes = readFileSync(stash.path)
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 1, bytes.length - 1)
    writeFileSync(stash.path, bytes)
    expect(await read(stash.path)).toEqual({ ok: true, found: false })
    await expect(readStash(stash.path, [[]], { env: { ...env, SSTASH_PASSWORD: 'correct horse' } })).rejects.toBeInstanceOf(SSCryptoError)
  })

  it('sees a write made behind its back, and forgets a stash whose password changed', async () => {
    const { env, stash } = await setup()
    await unlockInAgent(stash, env)
    expect(text((await agentReadTree(stash.path, [[]], env))?.read(['svc', 'token']) as Uint8Array)).toBe('tok-123')
    await stash.writeValue(['svc', 'token'], new TextEncoder().encode('tok-456'))
    expect(text((await agentReadTree(stash.path, [[]], env))?.read(['svc', 'token']) as Uint8Array)).toBe('tok-456')
    await stash.changePassword('another password')
    expect(await agentReadTree(stash.path, [[]], env)).toBeUndefined()
    expect(await agentWriteValues(stash.path, [[['a'], new Uint8Array([1])]], env)).toBe(false)
  })

  it('writes through the stash lock, losing nothing among concurrent writers', async () => {
    const { env, stash, path } = await setup()
    await unlockInAgent(stash, env)
    await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => writeValues(path, [[['agent', `k${i}`], new TextEncoder().encode(String(i))]], { env })),
      ...Array.from({ length: 3 }, (_, i) => stash.writeValue(['direct', `k${i}`], new TextEncoder().encode(String(i)))),
    ])
    const reopened = await SecureStash.open(path, 'correct horse')
    expect((await reopened.getChildren(['agent'])).length).toBe(10)
    expect((await reopened.getChildren(['direct'])).length).toBe(3)
    expect(text(await reopened.readValue(['svc', 'token']))).toBe('tok-123')
  })

  it('reports a refused write as the write\'s own error, and leaves values too large for a request to the caller', async () => {
    const { env, stash, path } = await setup()
    await unlockInAgent(stash, env)
    await expect(agentWriteValues(stash.path, [[[], new Uint8Array([1])]], env)).rejects.toMatchObject({ code: 'BAD_KEY' })
    const big = new Uint8Array(MAX_REQUEST_BYTES).fill(7)
    expect(await agentWriteValues(stash.path, [[['big'], big]], env)).toBe(false)
    // writeValues then writes it itself, with the key the agent holds.
    await writeValues(path, [[['big'], big]], { env })
    expect((await readStash(path, [['big']], { env })).read(['big']).length).toBe(MAX_REQUEST_BYTES)
  })
})
