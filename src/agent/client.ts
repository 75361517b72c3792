/**
 * The client side of the sstash agent: sends one small JSON request per connection and reads
 * one JSON answer (the protocol is in ./protocol.ts and docs/AGENT.md), and starts the agent.
 *
 * This module is on the path of every git fetch and every `sstash-run`, so it stays tiny:
 * only node:fs is loaded up front (synchronous calls: no thread pool), node:net only when a
 * socket is there to connect to, nothing derives a key, and "no agent runs" is learnt from an
 * lstat or one refused connect, never from a timeout. An unsafe agent directory means no
 * agent (see ./directory.ts): every other password source remains.
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SSError, type SSErrorCode } from '../errors.js'
import type { StashKey } from '../store/secure-stash.js'
import { Tree, TreeNode } from '../tree/tree.js'
import { decodeTree } from '../tree/codec.js'
import { withoutSecrets } from '../env/secret-variables.js'
import { SOCKET_NAME, agentDir } from '../locations.js'
import { agentSocket, ensureAgentDir } from './directory.js'
import { MAX_REQUEST_BYTES, PROTOCOL_VERSION, type AgentEntry, type AgentRequest, type AgentResponse } from './protocol.js'
import { agentAnswer, agentRequest, isNotServing, saidOf, type AgentSaid } from './request.js'

export { agentRequest }

type Env = Record<string, string | undefined>

/** What {@link agentStatus} returns when an agent runs. */
export interface AgentStatus {
  pid: number
  socket: string
  entries: AgentEntry[]
}

/**
 * Asks the agent for the key of the stash at `realPath` whose file has key id `keyId`.
 * Never throws for a missing, dead or broken agent: every other password source remains.
 * @returns the key, or undefined when the agent does not hold it
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
 * @returns the selected tree, or undefined when the agent does not hold the stash as it is now.
 *   A key path that is missing keeps the segments of it that exist, so that looking it up
 *   throws keyNotFound naming the same segment as a read without the agent.
 */
export async function agentReadTree(realPath: string, keys: string[][], env: Env = process.env): Promise<Tree | undefined> {
  const read = await agentRead(realPath, keys, env)
  return read instanceof Tree ? read : undefined
}

/**
 * As {@link agentReadTree}, and tells apart an agent that need not be asked again: one that
 * holds no key for the path at all (`held: false`: then asking it for the key, as
 * {@link agentGetKey} does, is useless), or that did not answer.
 * @returns the selected tree; what to tell the code that opens the stash when the agent is not
 *   to be asked again (see AgentSaid); or undefined (no agent, or it could not serve the read)
 */
export async function agentRead(realPath: string, keys: string[][], env: Env = process.env): Promise<Tree | AgentSaid | undefined> {
  const socketPath = agentSocket(env)
  if (!socketPath) return undefined
  const answer = await agentAnswer(socketPath, { v: PROTOCOL_VERSION, op: 'read', path: realPath, keys }, 3_000)
  if (isNotServing(answer)) return saidOf(answer)
  if (!answer?.ok || !answer.found || typeof answer.tree !== 'string') return undefined
  const tree = decodeTree(new Uint8Array(Buffer.from(answer.tree, 'base64')))
  rebuildExistingParts(tree, keys, answer.missing)
  return tree
}

/**
 * Adds to `tree` the nodes that exist of each missing key (the `missing` of a `read` answer;
 * entries that do not fit are skipped). Those nodes exist in the stash and hold no value here,
 * as the other nodes on the way to a selected subtree.
 */
function rebuildExistingParts(tree: Tree, keys: readonly string[][], missing: unknown): void {
  for (const pair of Array.isArray(missing) ? missing : []) {
    const [i, found] = Array.isArray(pair) ? (pair as unknown[]) : []
    const key = typeof i === 'number' ? keys[i] : undefined
    if (key === undefined || typeof found !== 'number' || !Number.isSafeInteger(found) || found < 0 || found >= key.length) continue
    let node = tree.root
    for (const segment of key.slice(0, found)) {
      let next = node.children.get(segment)
      if (!next) node.children.set(segment, (next = new TreeNode()))
      node = next
    }
  }
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
  // An unsafe directory is an error here, with what to do, not the other commands' warning.
  ensureAgentDir(agentDir(env))
  const request: AgentRequest = {
    v: PROTOCOL_VERSION,
    op: 'unlock',
    path: realPath,
    keyId: key.keyId,
    key: Buffer.from(key.key).toString('base64'),
    timeoutMs,
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    const socketPath = agentSocket(env, true) ?? (await startAgent(env))
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
 * @returns how many stashes were forgotten (0 when no agent runs, or its directory is unsafe)
 * @throws {SSError} AGENT_FAILED
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
 * @throws {SSError} AGENT_UNSAFE (with what to do) when the agent directory is not safe; AGENT_FAILED
 */
export async function agentStatus(env: Env = process.env): Promise<AgentStatus | undefined> {
  const socketPath = agentSocket(env, true)
  if (!socketPath) return undefined
  const answer = await agentRequest(socketPath, { v: PROTOCOL_VERSION, op: 'status' }, 3_000)
  if (!answer) return undefined
  if (!answer.ok || typeof answer.pid !== 'number' || !Array.isArray(answer.entries))
    throw new SSError(`the sstash agent refused: ${answer.error ?? 'malformed status'}`, 'AGENT_FAILED')
  return { pid: answer.pid, socket: socketPath, entries: answer.entries }
}
