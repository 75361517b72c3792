/** Shared test helpers: temporary directories, the built binaries, cheap stashes. */
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, realpathSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, expect } from 'vitest'
import { SSError, SecureStash, Tree, parseKdfSpec } from '../src/index.js'

export const ROOT = resolve(import.meta.dirname, '..')
export const BIN = {
  sstash: join(ROOT, 'bin/sstash.cjs'),
  git: join(ROOT, 'bin/git-credential-sstash.cjs'),
  run: join(ROOT, 'bin/sstash-run.cjs'),
} as const

/**
 * The cheap KDF every test uses, through the documented `--kdf` option / `kdf` open option.
 * Never used outside tests.
 */
export const TEST_KDF_SPEC = 'scrypt:N=1024,r=8,p=1'
export const TEST_KDF = parseKdfSpec(TEST_KDF_SPEC)
export const PYTHON_TEST_KDF = parseKdfSpec('pbkdf2-sha512:iterations=100')

/** A fresh private temporary directory, removed after the test file. */
export function tempDir(): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'sstash-test-')))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/**
 * A private XDG_RUNTIME_DIR for the agents a test file starts (a password typed at a prompt
 * starts one), so that they meet neither the user's agent nor another file's. Every agent
 * there is told to exit after the file.
 */
export function agentRuntimeDir(): string {
  const dir = tempDir()
  // Registered after tempDir's removal, so it runs first.
  afterAll(async () => {
    await runBin('sstash', ['lock', '--all'], { env: { XDG_RUNTIME_DIR: dir } })
  })
  return dir
}

/** Creates a stash at `path` holding `values` (key paths joined by '/'), with the test KDF. */
export async function makeStash(path: string, password: string, values: Record<string, string | Uint8Array> = {}): Promise<SecureStash> {
  const stash = await SecureStash.open(path, password, { kdf: TEST_KDF })
  await stash.update((tree) => {
    for (const [key, value] of Object.entries(values))
      tree.write(key.split('/'), typeof value === 'string' ? new TextEncoder().encode(value) : value)
  })
  return stash
}

export interface RunResult {
  stdout: string
  stderr: string
  code: number | null
  signal: NodeJS.Signals | null
}

export interface RunOptions {
  env?: Record<string, string | undefined>
  input?: string | Uint8Array
  cwd?: string
  timeoutMs?: number
  /** Run as this user (see {@link otherUser}); needs root. */
  user?: TestUser
}

/**
 * Runs a command to completion. The environment is the test process's, minus any SSTASH_*
 * variables, plus `options.env` (undefined values remove a variable).
 */
export function runCommand(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('SSTASH_')) env[k] = v
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'], uid: options.user?.uid, gid: options.user?.gid })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.on('data', (d: Buffer) => err.push(d))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolvePromise({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code, signal })
    })
    child.stdin.on('error', () => {})
    child.stdin.end(options.input ?? '')
  })
}

/** The environments of a test of a client of the agent, under `home`. */
export interface AgentEnvs {
  /** HOME and the XDG folders under `home`, `LC_ALL=C`, and `extra`: what the other two share. */
  common: Record<string, string | undefined>
  /** The agent under `runtime` (see {@link agentRuntimeDir}), no password anywhere. */
  withAgent: Record<string, string | undefined>
  /** No agent at all (a fresh XDG_RUNTIME_DIR): the stash opened with `password` from SSTASH_PASSWORD. */
  withoutAgent: () => Record<string, string | undefined>
  /** Unlocks the stash at `path` (of `password`) for an hour in the agent under `where` (default `runtime`); fails the test when it cannot. */
  unlock: (path: string, where?: string) => Promise<void>
}

/** {@link AgentEnvs} for `home`, the agent under `runtime`, and a stash of `password`. */
export function agentEnvs(home: string, runtime: string, password: string, extra: Record<string, string> = {}): AgentEnvs {
  const common = { HOME: home, XDG_CONFIG_HOME: join(home, 'config'), XDG_DATA_HOME: join(home, 'data'), LC_ALL: 'C', ...extra }
  const unlock = async (path: string, where = runtime): Promise<void> => {
    const result = await runBin('sstash', ['unlock', '--stash', path, '--timeout', '1h'], { env: { ...common, XDG_RUNTIME_DIR: where, SSTASH_PASSWORD: password } })
    expect(result.code).toBe(0)
  }
  return { common, withAgent: { ...common, XDG_RUNTIME_DIR: runtime }, withoutAgent: () => ({ ...common, XDG_RUNTIME_DIR: tempDir(), SSTASH_PASSWORD: password }), unlock }
}

/** A run of a binary, with the bundles of dist/bundle it loaded. */
export type BundledResult = RunResult & { bundles: string[] }

/**
 * {@link runBin} with Node's module debug lines on (NODE_DEBUG=module): `bundles` lists which of
 * dist/bundle the run loaded, and stderr keeps only what the program wrote.
 */
export async function runBundled(bin: keyof typeof BIN, args: string[], options: RunOptions & { env: Record<string, string | undefined> }): Promise<BundledResult> {
  const result = await runBin(bin, args, { ...options, env: { ...options.env, NODE_DEBUG: 'module' } })
  const bundles = [...new Set([...result.stderr.matchAll(/dist\/bundle\/([a-z-]+)\.cjs/g)].map((m) => m[1] as string))].sort()
  return { ...result, stderr: result.stderr.replace(/^MODULE \d+: .*\n/gm, ''), bundles }
}

/** An XDG_RUNTIME_DIR under `dir` whose agent socket is a planted plain file, in a 0700 directory: no agent, whatever a client makes of it. */
export function plantedRuntime(dir: string): string {
  const planted = join(dir, 'planted')
  mkdirSync(join(planted, 'sstash'), { recursive: true, mode: 0o700 })
  chmodSync(join(planted, 'sstash'), 0o700)
  writeFileSync(join(planted, 'sstash', 'agent.sock'), 'not a socket')
  return planted
}

/** Runs `body` with the agent directory under `runtime` opened to others (0755), as an attacker or a mistake would leave it. */
export async function withLooseAgentDir<T>(runtime: string, body: () => Promise<T>): Promise<T> {
  const agentDirectory = join(runtime, 'sstash')
  chmodSync(agentDirectory, 0o755)
  try {
    return await body()
  } finally {
    chmodSync(agentDirectory, 0o700)
  }
}

/** Runs one of the built binaries with node. */
export function runBin(bin: keyof typeof BIN, args: string[], options: RunOptions = {}): Promise<RunResult> {
  // `--` first, as bin/ does: node reads a `--env-file` anywhere before one as its own option.
  return runCommand(process.execPath, ['--', BIN[bin], ...args], options)
}

/** True while a process with this pid exists. */
export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Polls `condition` every 25 ms until it holds; fails after `ms`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, ms = 8_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** A second Unix user, for tests of what another user on the machine can do to us. */
export interface TestUser {
  name: string
  uid: number
  gid: number
}

const OTHER_USER_NAME = 'sstash-test-other'
let other: TestUser | null | undefined

/**
 * A second Unix user (`sstash-test-other`, created with useradd when the tests run as root, as
 * in CI), or undefined where there is none: tests that need one skip with `it.skipIf(!otherUser())`.
 */
export function otherUser(): TestUser | undefined {
  if (other !== undefined) return other ?? undefined
  const lookup = (): TestUser | null => {
    const uid = spawnSync('id', ['-u', OTHER_USER_NAME], { encoding: 'utf8' })
    const gid = spawnSync('id', ['-g', OTHER_USER_NAME], { encoding: 'utf8' })
    if (uid.status !== 0 || gid.status !== 0) return null
    return { name: OTHER_USER_NAME, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) }
  }
  other = lookup()
  if (other === null && process.getuid?.() === 0) {
    // Several test files may ask at once: a lost race ("already exists") is fine.
    spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', OTHER_USER_NAME], { stdio: 'ignore' })
    other = lookup()
  }
  return other ?? undefined
}

/** A tree holding `values` (key paths joined by '/'). */
export function treeOf(values: Record<string, string | Uint8Array>): Tree {
  const tree = new Tree()
  for (const [k, v] of Object.entries(values)) tree.write(k.split('/'), typeof v === 'string' ? new TextEncoder().encode(v) : v)
  return tree
}

/** The SSError `fn` throws; fails the test when it throws nothing or something else. */
export function thrown(fn: () => unknown): SSError {
  try {
    fn()
  } catch (error) {
    if (error instanceof SSError) return error
    throw error
  }
  throw new Error('expected an error')
}

/**
 * The environment of a team member's clone, for real git and sstash: their own home, state
 * (the clone's memory of the team) and data, their identity file, git's author and committer,
 * and no system git config.
 */
export function memberEnv(home: string, identityFile: string, name = 'alice'): Record<string, string> {
  return {
    HOME: home,
    XDG_STATE_HOME: join(home, 'state'),
    XDG_DATA_HOME: join(home, 'data'),
    SSTASH_IDENTITY_FILE: identityFile,
    GIT_AUTHOR_NAME: name,
    GIT_AUTHOR_EMAIL: `${name}@example.com`,
    GIT_COMMITTER_NAME: name,
    GIT_COMMITTER_EMAIL: `${name}@example.com`,
    GIT_CONFIG_NOSYSTEM: '1',
  }
}
