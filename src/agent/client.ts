/**
 * The client side of the sstash agent: finds its socket, checks the socket's directory,
 * sends one small JSON request per connection and reads one JSON answer.
 *
 * This module is on the path of every git fetch and every `sstash-run`, so it stays tiny:
 * only node:fs is loaded up front (synchronous calls: no thread pool), node:net only when a
 * socket is there to connect to, nothing derives a key, and "no agent runs" is learnt from an
 * lstat or one refused connect, never from a timeout.
 *
 * Protocol (version 1): the client writes one line of JSON, at most {@link MAX_REQUEST_BYTES};
 * the agent answers with one line of JSON and closes the connection.
 */
import { chmodSync, lstatSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SSError, errno, ioError, type SSErrorCode } from '../errors.js'
import type { StashKey } from '../store/secure-stash.js'
import type { Tree } from '../tree/tree.js'
import { decodeTree } from '../tree/codec.js'
import { withoutSecrets } from '../unlock/secret-variables.js'
import { agentDir } from '../locations.js'

type Env = Record<string, string | undefined>

/** The protocol version every request carries; an agent refuses any other. */
export const PROTOCOL_VERSION = 1
/** Requests larger than this are refused by the agent; a larger `write` is done by the client itself. */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024
/** Answers larger than this are refused by the client: a `read` answer carries (part of) a stash. */
export const MAX_RESPONSE_BYTES = 512 * 1024 * 1024
/** How long a stash stays unlocked by default, counted from `sstash unlock`: git credential-cache's 15 minutes. */
export const DEFAULT_AGENT_TIMEOUT_MS = 15 * 60_000
/** The longest timeout accepted: 30 days. */
export const MAX_AGENT_TIMEOUT_MS = 30 * 24 * 3600_000
/** The file name of the socket inside the agent directory. */
export const SOCKET_NAME = 'agent.sock'

/** A request to the agent. Paths are real paths (symlinks resolved). */
export type AgentRequest =
  | { v: number; op: 'get'; path: string; keyId: string }
  | { v: number; op: 'read'; path: string; keys: string[][] }
  | { v: number; op: 'write'; path: string; values: [string[], string][] }
  | { v: number; op: 'unlock'; path: string; keyId: string; key: string; timeoutMs: number }
  | { v: number; op: 'lock'; path: string }
  | { v: number; op: 'lock-all' }
  | { v: number; op: 'status' }

/** One unlocked stash as `status` reports it: no secret, only where and until when. */
export interface AgentEntry {
  path: string
  /** When it was unlocked (ms since the epoch). */
  unlockedAt: number
  /** When the agent forgets it (ms since the epoch). */
  expiresAt: number
}

/** The agent's answer. `ok: false` carries `error`, a one-line reason without secrets. */
export interface AgentResponse {
  ok: boolean
  error?: string
  /** With `ok: false` from a `write`: the SSError code of the failure. */
  code?: string
  /** `get`: whether the agent holds a key for that path and key id. */
  found?: boolean
  /** `get`: the key, base64. */
  key?: string
  /** `read`: the selected subtrees, in the tree's binary encoding (src/tree-codec.ts), base64. */
  tree?: string
  /** `unlock`: when the entry expires. */
  expiresAt?: number
  /** `lock`, `lock-all`: how many entries were forgotten. */
  locked?: number
  /** `status`: the agent's process id and what it holds. */
  pid?: number
  entries?: AgentEntry[]
}

/** What {@link agentStatus} returns when an agent runs. */
export interface AgentStatus {
  pid: number
  socket: string
  entries: AgentEntry[]
}

/**
 * Checks the agent directory with lstat: a real directory (not a symlink), owned by this
 * user, mode exactly 0700. Anything else could let another user read keys or pose as the agent.
 * @returns false when the directory does not exist, true when it is safe
 * @throws {SSError} AGENT_UNSAFE when it exists but is not safe
 */
export function checkAgentDir(dir: string): boolean {
  let info
  try {
    info = lstatSync(dir)
  } catch (error) {
    if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') return false
    throw ioError('check the agent directory', dir, error, 'AGENT_UNSAFE')
  }
  const uid = process.getuid?.()
  const unsafe = (why: string): SSError =>
    new SSError(`refusing the agent directory ${dir}: ${why}; remove it and run \`sstash unlock\` again`, 'AGENT_UNSAFE')
  if (info.isSymbolicLink()) throw unsafe('it is a symlink')
  if (!info.isDirectory()) throw unsafe('it is not a directory')
  if (uid !== undefined && info.uid !== uid) throw unsafe(`it is owned by uid ${info.uid}, not ${uid}`)
  const mode = info.mode & 0o7777
  if (mode !== 0o700) throw unsafe(`its mode is ${mode.toString(8).padStart(4, '0')}, not 0700`)
  return true
}

/**
 * Creates the agent directory (0700) when missing, then checks it.
 * @throws {SSError} AGENT_UNSAFE; IO_ERROR when it cannot be created
 */
export function ensureAgentDir(dir: string): void {
  if (checkAgentDir(dir)) return
  try {
    mkdirSync(dir, { mode: 0o700 })
    // The umask may have taken bits away; the mode must be exactly 0700 for the check.
    chmodSync(dir, 0o700)
  } catch (error) {
    if (errno(error) !== 'EEXIST')
      throw ioError('create the agent directory', dir, error)
  }
  if (!checkAgentDir(dir)) throw new SSError(`the agent directory ${dir} disappeared`, 'IO_ERROR')
}

/**
 * The agent's socket path when its directory exists and is safe, and the socket is in it.
 * @returns undefined when there is no agent directory or no socket (so no agent)
 * @throws {SSError} AGENT_UNSAFE
 */
export function agentSocket(env: Env = process.env): string | undefined {
  const dir = agentDir(env)
  if (!checkAgentDir(dir)) return undefined
  const socketPath = join(dir, SOCKET_NAME)
  try {
    lstatSync(socketPath)
  } catch {
    return undefined
  }
  return socketPath
}

/**
 * Sends one request and reads the answer.
 * @returns undefined when no agent listens (no socket file, or a stale one)
 * @throws {SSError} AGENT_FAILED when the agent does not answer in time or answers garbage
 */
export async function agentRequest(socketPath: string, request: AgentRequest, timeoutMs = 2_000): Promise<AgentResponse | undefined> {
  const { connect } = await import('node:net')
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath)
    const chunks: Buffer[] = []
    let size = 0
    let settled = false
    const finish = (error: SSError | undefined, value?: AgentResponse): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      if (error) reject(error)
      else resolve(value)
    }
    const failed = (why: string, cause?: unknown): SSError =>
      new SSError(`the sstash agent at ${socketPath} ${why}`, 'AGENT_FAILED', { cause })
    const timer = setTimeout(() => finish(failed('did not answer in time')), timeoutMs)
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`))
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_RESPONSE_BYTES) return finish(failed('sent an answer too large'))
      chunks.push(chunk)
    })
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8').trim()
      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch {
        return finish(failed('sent a malformed answer'))
      }
      if (typeof parsed !== 'object' || parsed === null || typeof (parsed as AgentResponse).ok !== 'boolean')
        return finish(failed('sent a malformed answer'))
      finish(undefined, parsed as AgentResponse)
    })
    // After a complete answer this is the normal end: no error is built for it.
    socket.on('close', () => settled || finish(failed('closed the connection')))
    socket.on('error', (error) => {
      const code = errno(error)
      // No socket file, or a socket left by a dead agent: no agent runs. Learnt at once.
      if (code === 'ENOENT' || code === 'ECONNREFUSED') {
        if (!settled) {
          settled = true
          clearTimeout(timer)
          resolve(undefined)
        }
        return
      }
      finish(failed(`could not be reached: ${code ?? 'error'}`, error))
    })
  })
}

/**
 * Asks the agent for the key of the stash at `realPath` whose file has key id `keyId`.
 * Never throws for a missing, dead or broken agent: every other password source remains.
 * @returns the key, or undefined when the agent does not hold it
 * @throws {SSError} AGENT_UNSAFE when the agent directory is not safe
 */
export async function agentGetKey(realPath: string, keyId: string, env: Env = process.env): Promise<Uint8Array | undefined> {
  const socketPath = agentSocket(env)
  if (!socketPath) return undefined
  try {
    // A dead agent is known at once (ENOENT, ECONNREFUSED); this bound is only for a live
    // agent that does not answer, and is generous because a loaded machine can starve it.
    const answer = await agentRequest(socketPath, { v: PROTOCOL_VERSION, op: 'get', path: realPath, keyId }, 3_000)
    if (!answer?.ok || !answer.found || typeof answer.key !== 'string') return undefined
    return new Uint8Array(Buffer.from(answer.key, 'base64'))
  } catch {
    return undefined
  }
}

/**
 * Asks the agent to decrypt the stash at `realPath` and send the subtrees at `keys` (`[[]]`
 * for all of it): a read that needs neither a key derivation nor a cipher in this process.
 * Never throws for a missing, dead or broken agent: every other password source remains.
 * @returns the selected tree, or undefined when the agent does not hold the stash as it is now
 * @throws {SSError} AGENT_UNSAFE when the agent directory is not safe
 */
export async function agentReadTree(realPath: string, keys: string[][], env: Env = process.env): Promise<Tree | undefined> {
  const socketPath = agentSocket(env)
  if (!socketPath) return undefined
  let answer: AgentResponse | undefined
  try {
    answer = await agentRequest(socketPath, { v: PROTOCOL_VERSION, op: 'read', path: realPath, keys }, 3_000)
  } catch {
    return undefined
  }
  if (!answer?.ok || !answer.found || typeof answer.tree !== 'string') return undefined
  return decodeTree(new Uint8Array(Buffer.from(answer.tree, 'base64')))
}

/**
 * Asks the agent to write `values` into the stash at `realPath`, through the stash's lock and
 * an atomic replace, as any write goes.
 * @returns false when the agent cannot do it (none runs, it does not hold the stash as it is
 *   now, it is shutting down or does not answer): the caller then writes itself. Setting the same
 *   values twice changes nothing, so this is safe even if a slow agent wrote after all.
 * @throws {SSError} the write's own error, with its code (a bad key, a full disk, a held lock)
 */
export async function agentWriteValues(realPath: string, values: [string[], Uint8Array][], env: Env = process.env): Promise<boolean> {
  const socketPath = agentSocket(env)
  if (!socketPath) return false
  const encoded = values.map(([key, value]): [string[], string] => [key, Buffer.from(value).toString('base64')])
  const request: AgentRequest = { v: PROTOCOL_VERSION, op: 'write', path: realPath, values: encoded }
  if (Buffer.byteLength(JSON.stringify(request)) >= MAX_REQUEST_BYTES) return false
  // Longer than a writer may wait for the stash's lock (LOCK_TIMEOUT_MS), so that a held lock
  // is reported as such.
  const answer = await agentRequest(socketPath, request, 20_000).catch(() => undefined)
  if (!answer || (!answer.ok && answer.code === undefined)) return false
  if (!answer.ok) throw new SSError(answer.error ?? `the sstash agent could not write ${realPath}`, answer.code as SSErrorCode)
  return answer.found === true
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** The compiled agent entry: next to this file in dist/, or in dist/ when running from src/ (tests). */
function agentEntry(): string {
  const here = import.meta.url
  // From src/ (tests), the compiled agent; from dist/ or a bundle (.cjs), the agent beside us.
  const relative = here.endsWith('.ts') ? '../../dist/cli/agent.js' : here.endsWith('.cjs') ? './cli/agent.cjs' : '../cli/agent.js'
  return fileURLToPath(new URL(relative, import.meta.url))
}

/**
 * Starts an agent in the background (its own session, no stdio, cwd `/`) and waits until
 * its socket answers, for at most `waitMs`.
 * @throws {SSError} AGENT_FAILED when it does not come up
 */
export async function startAgent(env: Env = process.env, waitMs = 5_000): Promise<string> {
  const dir = agentDir(env)
  ensureAgentDir(dir)
  const socketPath = join(dir, SOCKET_NAME)
  const { spawn } = await import('node:child_process')
  // The agent never needs a password: keep password variables out of its environment.
  const child = spawn(process.execPath, [agentEntry(), dir], { detached: true, stdio: 'ignore', cwd: '/', env: withoutSecrets(env) })
  let exited = false
  child.on('exit', () => (exited = true))
  child.on('error', () => (exited = true))
  child.unref()
  const deadline = Date.now() + waitMs
  for (;;) {
    const answer = await agentRequest(socketPath, { v: PROTOCOL_VERSION, op: 'status' }, 1_000).catch(() => undefined)
    if (answer?.ok) return socketPath
    // An agent that exited at once either lost a start race (another one answers next
    // round) or failed; one more look tells which.
    if (exited) {
      const again = await agentRequest(socketPath, { v: PROTOCOL_VERSION, op: 'status' }, 1_000).catch(() => undefined)
      if (again?.ok) return socketPath
      throw new SSError(`the sstash agent could not start in ${dir}`, 'AGENT_FAILED')
    }
    if (Date.now() > deadline) throw new SSError(`the sstash agent did not start in ${dir} within ${waitMs} ms`, 'AGENT_FAILED')
    await sleep(25)
  }
}

/**
 * Hands a stash's key to the agent, starting one when none runs.
 * @param realPath - the stash's real path (see resolveStashPath)
 * @returns when the agent forgets it (ms since the epoch)
 * @throws {SSError} AGENT_UNSAFE, AGENT_FAILED
 */
export async function agentUnlock(realPath: string, key: StashKey, timeoutMs: number, env: Env = process.env): Promise<number> {
  const request: AgentRequest = {
    v: PROTOCOL_VERSION,
    op: 'unlock',
    path: realPath,
    keyId: key.keyId,
    key: Buffer.from(key.key).toString('base64'),
    timeoutMs,
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    const socketPath = agentSocket(env) ?? (await startAgent(env))
    let answer = await agentRequest(socketPath, request, 3_000)
    if (!answer) answer = await agentRequest(await startAgent(env), request, 3_000)
    if (answer?.ok && typeof answer.expiresAt === 'number') return answer.expiresAt
    // An agent that is exiting (its last entry just expired) says so; the next one is fresh.
    if (answer && answer.error !== 'exiting') throw new SSError(`the sstash agent refused: ${answer.error ?? 'unknown error'}`, 'AGENT_FAILED')
    await sleep(50)
  }
  throw new SSError('the sstash agent kept exiting', 'AGENT_FAILED')
}

/**
 * Makes the agent forget one stash, or every stash when `realPath` is undefined.
 * @returns how many stashes were forgotten (0 when no agent runs)
 * @throws {SSError} AGENT_UNSAFE, AGENT_FAILED
 */
export async function agentLock(realPath: string | undefined, env: Env = process.env): Promise<number> {
  const socketPath = agentSocket(env)
  if (!socketPath) return 0
  const request: AgentRequest =
    realPath === undefined ? { v: PROTOCOL_VERSION, op: 'lock-all' } : { v: PROTOCOL_VERSION, op: 'lock', path: realPath }
  const answer = await agentRequest(socketPath, request, 3_000)
  if (!answer) return 0
  if (!answer.ok) throw new SSError(`the sstash agent refused: ${answer.error ?? 'unknown error'}`, 'AGENT_FAILED')
  return answer.locked ?? 0
}

/**
 * What the running agent holds, without secrets.
 * @returns undefined when no agent runs
 * @throws {SSError} AGENT_UNSAFE, AGENT_FAILED
 */
export async function agentStatus(env: Env = process.env): Promise<AgentStatus | undefined> {
  const socketPath = agentSocket(env)
  if (!socketPath) return undefined
  const answer = await agentRequest(socketPath, { v: PROTOCOL_VERSION, op: 'status' }, 3_000)
  if (!answer) return undefined
  if (!answer.ok || typeof answer.pid !== 'number' || !Array.isArray(answer.entries))
    throw new SSError(`the sstash agent refused: ${answer.error ?? 'malformed status'}`, 'AGENT_FAILED')
  return { pid: answer.pid, socket: socketPath, entries: answer.entries }
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/**
 * Parses a duration: `90s`, `15m`, `2h`, `1d`, `1h30m`, or a bare number of seconds
 * (as git credential-cache's `--timeout`).
 * @returns milliseconds, between 1 s and {@link MAX_AGENT_TIMEOUT_MS}
 * @throws {SSError} BAD_DURATION
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim()
  let ms: number | undefined
  if (/^\d+$/.test(trimmed)) ms = Number(trimmed) * 1_000
  else if (/^(\d+(ms|s|m|h|d))+$/.test(trimmed)) {
    ms = 0
    for (const [, amount, unit] of trimmed.matchAll(/(\d+)(ms|s|m|h|d)/g)) ms += Number(amount) * (UNITS[unit ?? 's'] ?? 1_000)
  }
  if (ms === undefined || !Number.isSafeInteger(ms))
    throw new SSError(`bad duration '${text}': use a number with a unit, such as 90s, 15m or 2h`, 'BAD_DURATION')
  if (ms < 1_000 || ms > MAX_AGENT_TIMEOUT_MS) throw new SSError(`bad duration '${text}': it must be between 1s and 30d`, 'BAD_DURATION')
  return ms
}

/** Renders milliseconds as `1h 2m 3s` (for status lines). */
export function formatDuration(ms: number): string {
  let seconds = Math.max(0, Math.round(ms / 1_000))
  const parts: string[] = []
  for (const [unit, size] of [['d', 86_400], ['h', 3_600], ['m', 60]] as const) {
    if (seconds >= size) {
      parts.push(`${Math.floor(seconds / size)}${unit}`)
      seconds %= size
    }
  }
  if (seconds > 0 || parts.length === 0) parts.push(`${seconds}s`)
  return parts.join(' ')
}
