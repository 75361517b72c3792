/**
 * `sstash unlock`, `sstash lock`, `sstash agent status`, and the agent serving the git helper
 * (through real `git credential fill`) and sstash-run, with real agent processes. Every test
 * has its own XDG_RUNTIME_DIR; every agent is killed in afterAll. Commands that must not find
 * a password run in a new session (setsid) with stdin from /dev/null: no terminal at all.
 */
import { spawn } from 'node:child_process'
import { chmodSync, chownSync, lstatSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SecureStash } from '../../src/index.js'
import { agentStatus } from '../../src/agent/client.js'
import { BIN, makeStash, otherUser, runBin, runCommand, tempDir, type RunResult, alive, waitFor } from '../helpers.js'

const PASSWORD = 'correct horse'
const root = tempDir()
const home = join(root, 'home')
const agentPids = new Set<number>()
const runtimeDirs: string[] = []
let counter = 0

type Env = Record<string, string | undefined>

const HELPER = `!"${process.execPath}" "${BIN.git}"`

beforeAll(() => {
  mkdirSync(home, { mode: 0o700 })
  writeFileSync(join(root, 'password'), `${PASSWORD}\n`, { mode: 0o600 })
})

/** A fresh XDG_RUNTIME_DIR and stash; `env` has no password source at all. */
async function setup() {
  const dir = join(root, `case-${++counter}`)
  mkdirSync(dir, { mode: 0o700 })
  const runtime = join(dir, 'run')
  mkdirSync(runtime, { mode: 0o700 })
  runtimeDirs.push(runtime)
  const path = join(dir, 'test.sstash')
  await makeStash(path, PASSWORD, { 'svc/token': 'tok-123', 'project/app/API_TOKEN': 'api-456' })
  const env: Env = {
    XDG_RUNTIME_DIR: runtime,
    SSTASH_FILE: path,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: undefined,
    SSH_ASKPASS: undefined,
  }
  const withPassword: Env = { ...env, SSTASH_PASSWORD_FILE: join(root, 'password') }
  return { dir, runtime, path, env, withPassword }
}

async function rememberAgent(env: Env): Promise<number | undefined> {
  const status = await agentStatus(env).catch(() => undefined)
  if (status) agentPids.add(status.pid)
  return status?.pid
}

afterAll(async () => {
  for (const runtime of runtimeDirs) {
    try {
      chownSync(join(runtime, 'sstash'), process.getuid!(), process.getgid!())
      chmodSync(join(runtime, 'sstash'), 0o700)
    } catch {
      // not there
    }
    await rememberAgent({ XDG_RUNTIME_DIR: runtime })
  }
  for (const pid of agentPids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
})

interface Timed extends RunResult {
  ms: number
}

/**
 * Runs a command with no controlling terminal (a new session) and stdin from /dev/null,
 * as cron or a CI runner would; `ms` is the wall time.
 */
function runDetached(command: string, args: string[], env: Env, timeoutMs = 10_000): Promise<Timed> {
  const fullEnv: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('SSTASH_')) fullEnv[k] = v
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete fullEnv[k]
    else fullEnv[k] = v
  }
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const child = spawn('setsid', ['-w', command, ...args], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.on('data', (d: Buffer) => err.push(d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), code, signal, ms: Date.now() - started })
    })
  })
}

const sstash = (args: string[], env: Env): Promise<Timed> => runDetached(process.execPath, [BIN.sstash, ...args], env)
const sstashRun = (args: string[], env: Env): Promise<Timed> => runDetached(process.execPath, [BIN.run, ...args], env)
const printToken = ['-k', 'project/app', '--', process.execPath, '-e', 'process.stdout.write(process.env.API_TOKEN ?? "unset")']

/** `git credential <action>` with only the sstash helper configured. */
function gitCredential(action: string, input: string, env: Env): Promise<Timed> {
  const script = `printf '%s' "$INPUT" | git -c credential.helper= -c 'credential.helper=${HELPER}' credential ${action}`
  return runDetached('sh', ['-c', script], { ...env, INPUT: input })
}

const REQUEST = 'protocol=https\nhost=git.example.com\nusername=bob\n\n'

async function unlock(env: Env, args: string[] = []): Promise<number> {
  const run = await sstash(['unlock', ...args], env)
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: expect.stringMatching(/^sstash: unlocked .* until /) })
  const pid = await rememberAgent(env)
  expect(pid).toBeTypeOf('number')
  return pid!
}

describe('sstash unlock, lock and agent status', () => {
  it('unlock lets get, the git helper and sstash-run work with no password; lock stops them', async () => {
    const { env, withPassword, path } = await setup()
    const stored = await gitCredential('approve', `${REQUEST.trim()}\npassword=hunter2\n\n`, withPassword)
    expect(stored.code).toBe(0)

    expect((await sstash(['agent', 'status'], env)).stdout).toBe('agent: not running\n')
    await unlock(withPassword)

    const status = await sstash(['agent', 'status'], env)
    expect(status.code).toBe(0)
    expect(status.stdout).toMatch(new RegExp(`^agent: running, pid \\d+, socket .*\\n${path}\\tunlocked until .+ \\(in 1[45]m`))
    expect(status.stdout + status.stderr).not.toContain(PASSWORD)
    const json = JSON.parse((await sstash(['agent', 'status', '--json'], env)).stdout)
    expect(json).toMatchObject({ running: true, entries: [{ path, expiresAt: expect.any(String) }] })

    const get = await sstash(['get', 'svc/token'], env)
    expect({ out: get.stdout, err: get.stderr, code: get.code }).toEqual({ out: 'tok-123', err: '', code: 0 })

    const fill = await gitCredential('fill', REQUEST, env)
    expect(fill.code).toBe(0)
    expect(fill.stdout).toContain('password=hunter2\n')

    const run = await sstashRun(printToken, env)
    expect({ out: run.stdout, err: run.stderr, code: run.code }).toEqual({ out: 'api-456', err: '', code: 0 })

    // A write while unlocked goes through the ordinary lock-and-replace path: nothing lost.
    const set = await runBin('sstash', ['set', 'svc/new'], { input: 'fresh', env })
    expect(set.code).toBe(0)
    const check = await SecureStash.open(path, PASSWORD)
    expect(new TextDecoder().decode(await check.readValue(['svc', 'new']))).toBe('fresh')

    const lock = await sstash(['lock'], env)
    expect({ code: lock.code, stderr: lock.stderr }).toEqual({ code: 0, stderr: `sstash: locked ${path}\n` })
    const after = await sstash(['get', 'svc/token'], env)
    expect(after.code).toBe(5)
    expect(after.stderr).toMatch(/^sstash: error: no password for /)
    const runAfter = await sstashRun(printToken, env)
    expect(runAfter.code).toBe(5)
    const fillAfter = await gitCredential('fill', REQUEST, env)
    expect(fillAfter.stdout).not.toContain('hunter2')
  })

  it('names a missing key the same way with and without the agent: get and sstash-run -k', async () => {
    const { env, withPassword, dir } = await setup()
    await unlock(withPassword)
    const noAgentDir = join(dir, 'no-agent')
    mkdirSync(noAgentDir, { mode: 0o700 })
    const withoutAgent: Env = { ...withPassword, XDG_RUNTIME_DIR: noAgentDir }
    const cases: [string, (e: Env) => Promise<Timed>][] = [
      ['get project/api/tokn', (e) => sstash(['get', 'project/api/tokn'], e)],
      ['get project/app/tokn', (e) => sstash(['get', 'project/app/tokn'], e)],
      ['get project/app/API_TOKEN/x', (e) => sstash(['get', 'project/app/API_TOKEN/x'], e)],
      ['sstash-run -k project/myap', (e) => sstashRun(['-k', 'project/myap', '--', 'true'], e)],
      ['sstash-run -k nope/app', (e) => sstashRun(['-k', 'nope/app', '--', 'true'], e)],
    ]
    for (const [what, run] of cases) {
      const [viaAgent, direct] = [await run(env), await run(withoutAgent)]
      expect({ code: viaAgent.code, stderr: viaAgent.stderr }, what).toEqual({ code: direct.code, stderr: direct.stderr })
      expect(viaAgent.code, what).toBe(3)
      // The first segment exists: the message never stops there.
      expect(viaAgent.stderr, what).not.toMatch(/key \["project"\] was not found/)
    }
    expect((await sstash(['get', 'project/app/API_TOKEN'], env)).stdout).toBe('api-456')
  })

  it('lock --all forgets every stash and the agent exits', async () => {
    const { env, withPassword, dir } = await setup()
    const other = join(dir, 'other.sstash')
    await makeStash(other, PASSWORD, { k: 'v' })
    const pid = await unlock(withPassword)
    await unlock({ ...withPassword, SSTASH_FILE: other })
    expect(JSON.parse((await sstash(['agent', 'status', '--json'], env)).stdout).entries).toHaveLength(2)
    const lock = await sstash(['lock', '--all'], env)
    expect({ code: lock.code, stderr: lock.stderr }).toEqual({ code: 0, stderr: 'sstash: locked 2 stashes\n' })
    await waitFor(() => !alive(pid))
    expect((await sstash(['agent', 'status', '--json'], env)).stdout).toBe('{"running":false,"entries":[]}\n')
  })

  it('a short --timeout expires and the agent exits', async () => {
    const { env, withPassword } = await setup()
    const pid = await unlock(withPassword, ['--timeout', '4s'])
    expect((await sstash(['get', 'svc/token'], env)).stdout).toBe('tok-123')
    await waitFor(() => !alive(pid))
    const get = await sstash(['get', 'svc/token'], env)
    expect(get.code).toBe(5)
  })

  it('a wrong password is refused and nothing is cached', async () => {
    const { env } = await setup()
    const run = await sstash(['unlock'], { ...env, SSTASH_PASSWORD: 'Xq7-not-it' })
    expect(run.code).toBe(4)
    expect(run.stderr.split('\n')[0]).toMatch(/^sstash: error: /)
    expect(run.stderr).not.toContain('Xq7-not-it')
    expect((await sstash(['agent', 'status'], env)).stdout).toBe('agent: not running\n')
  })

  it('a password change makes the cached key useless, and clients fall back', async () => {
    const { env, withPassword, path } = await setup()
    const pid = await unlock(withPassword)
    const writer = await SecureStash.open(path, PASSWORD)
    await writer.changePassword('new password')
    const get = await sstash(['get', 'svc/token'], env)
    expect(get.code).toBe(5)
    const fallback = await sstash(['get', 'svc/token'], { ...env, SSTASH_PASSWORD: 'new password' })
    expect(fallback.stdout).toBe('tok-123')
    await waitFor(() => !alive(pid))
  })

  it('after the agent is killed with SIGKILL, clients fall back and unlock starts a new agent', async () => {
    const { env, withPassword } = await setup()
    const pid = await unlock(withPassword)
    process.kill(pid, 'SIGKILL')
    await waitFor(() => !alive(pid))

    const get = await sstash(['get', 'svc/token'], env)
    expect(get.code).toBe(5)
    expect(get.ms).toBeLessThan(2_000)
    expect((await sstash(['get', 'svc/token'], withPassword)).stdout).toBe('tok-123')
    expect((await sstash(['agent', 'status'], env)).stdout).toBe('agent: not running\n')

    const fresh = await unlock(withPassword)
    expect(fresh).not.toBe(pid)
    expect((await sstash(['get', 'svc/token'], env)).stdout).toBe('tok-123')
  })

  it('serves 20 concurrent clients: git helpers and sstash-run at once', async () => {
    const { env, withPassword } = await setup()
    expect((await gitCredential('approve', `${REQUEST.trim()}\npassword=hunter2\n\n`, withPassword)).code).toBe(0)
    await unlock(withPassword)
    const runs = await Promise.all([
      ...Array.from({ length: 10 }, () => gitCredential('fill', REQUEST, env)),
      ...Array.from({ length: 10 }, () => sstashRun(printToken, env)),
    ])
    for (const run of runs.slice(0, 10)) expect({ out: run.stdout, err: run.stderr }).toEqual({ out: expect.stringContaining('password=hunter2\n'), err: '' })
    for (const run of runs.slice(10)) expect({ out: run.stdout, err: run.stderr, code: run.code }).toEqual({ out: 'api-456', err: '', code: 0 })
  })

  it('SSTASH_AGENT_TIMEOUT makes a password from SSTASH_ASKPASS unlock the agent too', async () => {
    const { env, dir } = await setup()
    const askpass = join(dir, 'askpass.sh')
    writeFileSync(askpass, `#!/bin/sh\necho '${PASSWORD}'\n`, { mode: 0o755 })
    const first = await sstash(['get', 'svc/token'], { ...env, SSTASH_ASKPASS: askpass, SSTASH_AGENT_TIMEOUT: '5m' })
    expect(first.stdout).toBe('tok-123')
    await rememberAgent(env)
    const status = JSON.parse((await sstash(['agent', 'status', '--json'], env)).stdout)
    expect(status.entries).toHaveLength(1)
    expect(Date.parse(status.entries[0].expiresAt) - Date.parse(status.entries[0].unlockedAt)).toBe(300_000)
    expect((await sstash(['get', 'svc/token'], env)).stdout).toBe('tok-123')
  })

  it('refuses bad arguments with a usage error', async () => {
    const { withPassword, env } = await setup()
    const bad = await sstash(['unlock', '--timeout', 'soon'], withPassword)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/^sstash: error: --timeout: bad duration 'soon'/)
    // A missing stash is reported before any password is asked for.
    const missing = await sstash(['unlock', '--stash', join(root, 'missing.sstash')], env)
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/^sstash: error: no stash at /)
    const agent = await sstash(['agent', 'restart'], env)
    expect(agent.code).toBe(2)
    expect(agent.stderr).toMatch(/^sstash: error: unknown agent command 'restart'/)
  })

  for (const [what, make] of [
    ['mode 0755', (dir: string) => {
      mkdirSync(dir)
      chmodSync(dir, 0o755)
    }],
    ['another owner', (dir: string) => {
      mkdirSync(dir, { mode: 0o700 })
      chownSync(dir, 65534, 65534)
    }],
  ] as const) {
    it(`treats an agent directory with ${what} as no agent, and unlock says what to do`, async () => {
      const { runtime, withPassword, env } = await setup()
      const dir = join(runtime, 'sstash')
      make(dir)
      const why = what === 'mode 0755' ? 'its mode is 0755, not 0700' : 'it belongs to another user (uid 65534)'
      const run = await sstash(['unlock'], withPassword)
      expect(run.code).toBe(1)
      expect(run.stderr.split('\n')).toEqual([
        `sstash: error: refusing the agent directory ${dir}: ${why}`,
        what === 'mode 0755'
          ? `sstash: hint: \`chmod 700 ${dir}\` (or remove it), then run \`sstash unlock\` again`
          : 'sstash: hint: another user made it; ask them or root to remove it, or set XDG_RUNTIME_DIR to a directory only you can write',
        '',
      ])
      // The other password sources still work, with one warning per command.
      const get = await sstash(['get', 'svc/token'], withPassword)
      expect({ code: get.code, out: get.stdout, err: get.stderr }).toEqual({
        code: 0,
        out: 'tok-123',
        err: `sstash: warning: not using the agent: refusing the agent directory ${dir}: ${why}\n`,
      })
      expect((await sstash(['agent', 'status'], env)).code).toBe(1)
      expect(lstatSync(dir).isDirectory()).toBe(true)
    })
  }
})

describe('where the agent directory lives', () => {
  it.skipIf(!otherUser())('is no agent when another user made it first: every binary uses the password, warning once, and unlock says what to do', async () => {
    const other = otherUser()!
    const { env, withPassword } = await setup()
    // A shared directory such as /tmp, where the other user creates our agent directory first.
    const shared = tempDir()
    chmodSync(shared, 0o1777)
    const dir = join(shared, 'sstash')
    expect((await runCommand('mkdir', ['-m', '700', dir], { user: other })).code).toBe(0)
    const foreign = { ...env, XDG_RUNTIME_DIR: shared }
    const password = { ...withPassword, XDG_RUNTIME_DIR: shared }
    const warning = `sstash: warning: not using the agent: refusing the agent directory ${dir}: it belongs to another user (uid ${other.uid})\n`

    expect((await gitCredential('approve', `${REQUEST.trim()}\npassword=hunter2\n\n`, password)).code).toBe(0)
    const get = await sstash(['get', 'svc/token'], password)
    expect({ code: get.code, out: get.stdout, err: get.stderr }).toEqual({ code: 0, out: 'tok-123', err: warning })
    const run = await sstashRun(printToken, password)
    expect({ code: run.code, out: run.stdout, err: run.stderr }).toEqual({ code: 0, out: 'api-456', err: warning })
    const fill = await gitCredential('fill', REQUEST, password)
    expect({ code: fill.code, err: fill.stderr }).toEqual({ code: 0, err: warning })
    expect(fill.stdout).toContain('password=hunter2\n')

    const unlocked = await sstash(['unlock'], password)
    expect({ code: unlocked.code, err: unlocked.stderr }).toEqual({
      code: 1,
      err:
        `sstash: error: refusing the agent directory ${dir}: it belongs to another user (uid ${other.uid})\n` +
        'sstash: hint: another user made it; ask them or root to remove it, or set XDG_RUNTIME_DIR to a directory only you can write\n',
    })
    // Without a password source, the usual error (and the one warning), at once.
    const none = await sstash(['get', 'svc/token'], foreign)
    expect(none.code).toBe(5)
    expect(none.stderr.split('\n').slice(0, 2)).toEqual([warning.trim(), expect.stringMatching(/^sstash: error: no password for /)])
    expect((await sstash(['lock'], foreign)).code).toBe(0)
  })

  it('is under $HOME/.local/state/sstash/agent without XDG_RUNTIME_DIR, made 0700', async () => {
    const { env, withPassword, dir } = await setup()
    const ownHome = join(dir, 'home')
    mkdirSync(ownHome, { mode: 0o700 })
    const noRuntime: Env = { XDG_RUNTIME_DIR: undefined, XDG_STATE_HOME: undefined, HOME: ownHome }
    const unlocked = await sstash(['unlock'], { ...withPassword, ...noRuntime })
    expect({ code: unlocked.code, err: unlocked.stderr }).toEqual({ code: 0, err: expect.stringMatching(/^sstash: unlocked /) })
    const status = JSON.parse((await sstash(['agent', 'status', '--json'], { ...env, ...noRuntime })).stdout)
    agentPids.add(status.pid)
    const agentDir = join(ownHome, '.local/state/sstash/agent')
    expect(status.socket).toBe(join(agentDir, 'agent.sock'))
    for (const made of ['.local/state/sstash', '.local/state/sstash/agent']) expect(lstatSync(join(ownHome, made)).mode & 0o777).toBe(0o700)
    expect(lstatSync(status.socket).isSocket()).toBe(true)
    expect((await sstash(['get', 'svc/token'], { ...env, ...noRuntime })).stdout).toBe('tok-123')
    expect((await sstash(['lock', '--all'], { ...env, ...noRuntime })).code).toBe(0)
    await waitFor(() => !alive(status.pid))
  })
})

describe('with no password source and no terminal', () => {
  it('every binary fails at once instead of waiting for input', async () => {
    const { env } = await setup()
    const runs = {
      get: await sstash(['get', 'svc/token'], env),
      unlock: await sstash(['unlock'], env),
      run: await sstashRun(printToken, env),
      git: await gitCredential('fill', REQUEST, env),
      gitPrompting: await gitCredential('fill', REQUEST, { ...env, GIT_TERMINAL_PROMPT: undefined }),
    }
    for (const [name, run] of Object.entries(runs)) {
      expect(run.signal, name).toBeNull()
      expect(run.code, name).not.toBe(0)
      expect(run.ms, `${name} took ${run.ms} ms`).toBeLessThan(1_000)
    }
    for (const run of [runs.get, runs.unlock, runs.run]) {
      expect(run.code).toBe(5)
      expect(run.stderr.split('\n')[0]).toMatch(/^sstash: error: no password for /)
    }
  })
})
