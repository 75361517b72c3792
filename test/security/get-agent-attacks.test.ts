/**
 * Attacks on the fast half of a plain `sstash get` (src/cli/get-agent.ts): what the agent
 * answers must never differ from what the stash opened without the agent says. Every case runs
 * the same command line twice, with the stash unlocked in a real agent and with no agent at all
 * (a fresh XDG_RUNTIME_DIR and SSTASH_PASSWORD), and compares bytes, exit code and stderr.
 * Real agent processes, real sockets, the built binaries.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, copyFileSync, mkdirSync, readFileSync, renameSync, symlinkSync, utimesSync, writeFileSync, statSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { BIN, agentEnvs, agentRuntimeDir, makeStash, runBin, runCommand, tempDir, type RunResult } from '../helpers.js'

const PASSWORD = 'stash password'
const dir = tempDir()
const home = join(dir, 'home')
const stash = join(dir, 'values.sstash')
const runtime = agentRuntimeDir()

type Env = Record<string, string | undefined>

/** The stash unlocked in the agent, no password anywhere; and no agent at all, the password from the environment. */
const { common, withAgent, withoutAgent, unlock } = agentEnvs(home, runtime, PASSWORD)

const sstash = (args: string[], env: Env): Promise<RunResult> => runBin('sstash', args, { cwd: home, env, timeoutMs: 8_000 })

/** The same command line with the agent and without it. */
async function both(args: string[]): Promise<{ fast: RunResult; slow: RunResult }> {
  const [fast, slow] = await Promise.all([sstash(args, withAgent), sstash(args, withoutAgent())])
  return { fast, slow }
}

beforeAll(async () => {
  mkdirSync(home, { recursive: true })
  await makeStash(stash, PASSWORD, { 'app/TOKEN': 'token-value', '__proto__/x': 'proto', constructor: 'ctor' })
  await makeStash(join(dir, 'other.sstash'), 'other password', { 'app/TOKEN': 'other-stash-value' })
  await unlock(stash)
})

describe('sstash get through the agent, attacked', () => {
  it('says what the stash opened without the agent says for odd key paths and escapes', async () => {
    for (const keypath of ['/', '', '\\e', 'app/\\x54OKEN', 'app/\\u0054OKEN', 'app/\\uD800', 'app//TOKEN', 'app/TOKEN/', '__proto__/x', '__proto__', 'constructor', 'toString', 'app/TOKEN/__proto__']) {
      const { fast, slow } = await both(['--stash', stash, 'get', keypath])
      expect({ keypath, ...fast }).toEqual({ keypath, ...slow })
    }
  })

  it('takes the last of --stash given twice, and every --stash= form, as the stash opened without the agent does', async () => {
    const other = join(dir, 'other.sstash')
    const lines = [
      ['--stash', other, '--stash', stash, 'get', 'app/TOKEN'],
      ['--stash=' + other, 'get', 'app/TOKEN', '--stash=' + stash],
      ['get', '--stash', stash, 'app/TOKEN'],
      ['--stash=', 'get', 'app/TOKEN'],
      ['--stash', '', 'get', 'app/TOKEN'],
      ['--stash', stash, '--stash=', 'get', 'app/TOKEN'],
    ]
    for (const args of lines) {
      const { fast, slow } = await both(args)
      expect({ args, ...fast }).toEqual({ args, ...slow })
    }
    // The held stash named first, another after: never the held stash's value.
    const result = await sstash(['--stash', stash, '--stash', other, 'get', 'app/TOKEN'], withAgent)
    expect(result.stdout).toBe('')
    expect(result.code).not.toBe(0)
  })

  it('refuses a FIFO, a device, a directory and the agent socket as the stash, at once and as without the agent', async () => {
    const fifo = join(dir, 'fifo.sstash')
    execFileSync('mkfifo', [fifo])
    mkdirSync(join(dir, 'dir.sstash'))
    for (const path of [fifo, '/dev/zero', join(dir, 'dir.sstash'), join(runtime, 'sstash', 'agent.sock')]) {
      const started = Date.now()
      const { fast, slow } = await both(['--stash', path, 'get', 'app/TOKEN'])
      expect(Date.now() - started).toBeLessThan(4_000)
      expect(fast.code).not.toBe(0)
      expect({ path, ...fast }).toEqual({ path, ...slow })
    }
  })

  it('refuses an argument that is not valid UTF-8 with the same message as without the agent', async () => {
    const run = (env: Env, bytes: string) =>
      runCommand('/bin/sh', ['-c', `exec "$0" -- "$1" --stash "$2" get "$(printf '${bytes}')"`, process.execPath, BIN.sstash, stash], { cwd: home, env })
    for (const bytes of ['app/\\377', 'app/TOKEN\\300']) {
      const fast = await run(withAgent, bytes)
      const slow = await run(withoutAgent(), bytes)
      expect(fast.code).toBe(2)
      expect(fast).toEqual(slow)
    }
  })

  it('never prints a stale value: a write by another process, and an older file written in place with the old mtime', async () => {
    const copy = join(dir, 'stale.sstash')
    copyFileSync(stash, copy)
    await unlock(copy)
    expect((await sstash(['--stash', copy, 'get', 'app/TOKEN'], withAgent)).stdout).toBe('token-value')
    const older = readFileSync(copy)
    await makeStash(copy, PASSWORD, { 'app/TOKEN': 'newer' })
    expect((await both(['--stash', copy, 'get', 'app/TOKEN'])).fast.stdout).toBe('newer')
    // Back to the older bytes in the same inode, with the newer file's times: only ctime tells.
    const { atime, mtime } = statSync(copy)
    writeFileSync(copy, older)
    utimesSync(copy, atime, mtime)
    const { fast, slow } = await both(['--stash', copy, 'get', 'app/TOKEN'])
    expect(fast).toEqual(slow)
    expect(fast.stdout).toBe('token-value')
  })

  it('never answers for a held path swapped for a symbolic link to another stash, or for a team stash put there', async () => {
    const held = join(dir, 'swap.sstash')
    copyFileSync(stash, held)
    await unlock(held)
    renameSync(held, join(dir, 'swap.sstash.bak'))
    symlinkSync(join(dir, 'other.sstash'), held)
    const viaLink = await sstash(['--stash', held, 'get', 'app/TOKEN'], { ...withAgent, SSTASH_PASSWORD: 'wrong' })
    expect(viaLink.stdout).toBe('')
    expect(viaLink.code).not.toBe(0)

    const team = join(dir, 'team.sstash')
    copyFileSync(stash, team)
    await runBin('sstash', ['unlock', '--stash', team, '--timeout', '1h'], { env: { ...withAgent, SSTASH_PASSWORD: PASSWORD } })
    writeFileSync(team, 'sstash-team/1\nnot really a team stash\n')
    const { fast, slow } = await both(['--stash', team, 'get', 'app/TOKEN'])
    expect(fast.stdout).toBe('')
    expect(fast).toEqual(slow)
  })

  /** Runs `body` with XDG_RUNTIME_DIR holding a socket that accepts and never answers, in a 0700 directory. */
  async function withSilentAgent(body: (env: Env) => Promise<void>): Promise<void> {
    const quiet = tempDir()
    mkdirSync(join(quiet, 'sstash'), { mode: 0o700 })
    chmodSync(join(quiet, 'sstash'), 0o700)
    const server = createServer(() => {})
    await new Promise<void>((resolve) => server.listen(join(quiet, 'sstash', 'agent.sock'), resolve))
    try {
      await body({ ...common, XDG_RUNTIME_DIR: quiet, SSTASH_PASSWORD: PASSWORD })
    } finally {
      server.close()
    }
  }

  /** `bin` with `args`, which must succeed with `stdout` within one wait for the agent (3 s) and the open itself. */
  async function waitsOnce(bin: 'sstash' | 'run', args: string[], env: Env, stdout: string): Promise<void> {
    const started = Date.now()
    const result = await runBin(bin, args, { cwd: home, env, timeoutMs: 15_000 })
    expect(result).toMatchObject({ code: 0, stdout, stderr: '' })
    expect(Date.now() - started).toBeLessThan(5_500)
  }

  it('asks an agent that accepts and never answers once, then opens the stash itself: one wait of 3 s, not three', async () => {
    await withSilentAgent((env) => waitsOnce('sstash', ['--stash', stash, 'get', 'app/TOKEN'], env, 'token-value'))
  })

  it('waits once for such an agent in the other readers too: sstash-run and sstash ls', async () => {
    await withSilentAgent(async (env) => {
      await waitsOnce('run', ['--stash', stash, '-k', 'app', '--', 'sh', '-c', 'printf %s "$TOKEN"'], env, 'token-value')
      await waitsOnce('sstash', ['--stash', stash, 'ls', 'app'], env, 'app/TOKEN\n')
    })
  })
})
