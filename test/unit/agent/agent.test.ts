/**
 * The agent and its client, with real agent processes (dist/cli/agent.js, so build first)
 * and real unix sockets. Every test has its own XDG_RUNTIME_DIR, so no test ever talks to
 * a real user's agent, and every agent started here is killed in afterAll.
 */
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync, existsSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { SecureStash, SSCryptoError } from '../../../src/index.js'
import {

  agentGetKey,
  agentLock,
  agentStatus,
  agentUnlock,
  formatDuration,
  parseDuration,
  SOCKET_NAME,
  MAX_REQUEST_BYTES,
  agentReadTree,
  agentWriteValues,
} from '../../../src/agent/client.js'
import { openStash, readStash, writeValues } from '../../../src/unlock/open.js'
import { ROOT, makeStash, runCommand, tempDir, alive, waitFor } from '../../helpers.js'
import { agentDir } from '../../../src/locations.js'

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

describe('durations', () => {
  it('parses units, compound durations and bare seconds', () => {
    expect(parseDuration('90s')).toBe(90_000)
    expect(parseDuration('15m')).toBe(900_000)
    expect(parseDuration('2h')).toBe(7_200_000)
    expect(parseDuration('1h30m')).toBe(5_400_000)
    expect(parseDuration('1d')).toBe(86_400_000)
    expect(parseDuration('300')).toBe(300_000)
    expect(formatDuration(5_400_000)).toBe('1h 30m')
    expect(formatDuration(500)).toBe('1s')
  })

  it('refuses odd durations with BAD_DURATION', () => {
    for (const bad of ['', 'm', '15 m', '-5m', '1.5h', '0', '10ms', '31d', '15x', '1e3', 'Infinity'])
      expect(() => parseDuration(bad), bad).toThrow(expect.objectContaining({ code: 'BAD_DURATION' }))
  })
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
    it(`is refused by client and agent when it has ${what}`, async () => {
      const { env, path, stash, runtime } = await setup()
      const dir = agentDir(env)
      make(dir)
      const unsafe = expect.objectContaining({ code: 'AGENT_UNSAFE', message: expect.stringContaining(dir) })
      await expect(openStash(path, { env, prompt: false })).rejects.toEqual(unsafe)
      await expect(agentUnlock(stash.path, await stash.exportKey(), 60_000, env)).rejects.toEqual(unsafe)
      await expect(agentStatus(env)).rejects.toEqual(unsafe)

      // The agent itself, started by hand on that directory, refuses too and creates no socket.
      const run = await runCommand(process.execPath, [join(ROOT, 'dist/cli/agent.js'), dir], { env, timeoutMs: 10_000 })
      expect(run.code).toBe(1)
      expect(existsSync(join(runtime, 'sstash', SOCKET_NAME))).toBe(false)
    })
  }

  it('is refused once its mode changes under a running agent', async () => {
    const { env, path, stash } = await setup()
    await unlockInAgent(stash, env)
    chmodSync(agentDir(env), 0o711)
    await expect(openStash(path, { env, prompt: false })).rejects.toMatchObject({ code: 'AGENT_UNSAFE' })
    chmodSync(agentDir(env), 0o700)
  })

  it('is /tmp/sstash-<uid> without XDG_RUNTIME_DIR', () => {
    expect(agentDir({})).toBe(`/tmp/sstash-${process.getuid!()}`)
    expect(agentDir({ XDG_RUNTIME_DIR: 'relative' })).toBe(`/tmp/sstash-${process.getuid!()}`)
    expect(agentDir({ XDG_RUNTIME_DIR: '/run/user/7' })).toBe('/run/user/7/sstash')
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
