/**
 * The agent's lifecycle: listen on the socket, watch that the socket is still ours, forget
 * each stash when it expires, and shut down (on signals, when the socket is taken, or when
 * nothing is held). What it says is in ./protocol.ts, what it does per request in
 * ./handlers.ts, how one connection is read in ./connection.ts.
 *
 * Rules:
 *   - keys live in this process's memory only; nothing is ever written to disk or logged.
 *   - entries are keyed by the stash's real path and its key id: a password change gives
 *     the file a new key id, and the old key is never handed out for it.
 *   - each entry expires a fixed time after it was unlocked (not after its last use), as
 *     git credential-cache's entries do; using a stash does not keep it unlocked.
 *   - the process exits when it holds nothing: after `lock --all`, after the last expiry,
 *     or when nothing was unlocked within a short grace period after it started.
 *   - the event loop never waits on a file: reads are non-blocking and size-capped, and the
 *     socket watch and the shutdown use plain lstat and unlink calls, not the thread pool,
 *     so a stuck file operation elsewhere cannot keep the agent from exiting.
 */
import { createServer, type Server } from 'node:net'
import { chmodSync, lstatSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { errno } from '../errors.js'
import { SOCKET_NAME } from '../locations.js'
import { agentRequest } from './client.js'
import { RequestBudget, serveConnection } from './connection.js'
import { ensureAgentDir } from './directory.js'
import { handle, type AgentContext } from './handlers.js'
import { UnlockedStashes } from './unlocked-stashes.js'
import { PROTOCOL_VERSION, parseRequest, type AgentResponse } from './protocol.js'

/** Options of {@link runAgent}. */
export interface AgentOptions {
  /** The agent directory (see agentDir); created 0700 when missing, refused when unsafe. */
  dir: string
  /** Exit when nothing has been unlocked this long after start (default 10 s). */
  graceMs?: number
  /** How often to check that the socket is still ours (default 2 s). */
  checkMs?: number
}

/** The socket's inode, or undefined when it is gone. bigint: see agentSocket in ./directory.ts. */
function inodeOf(socketPath: string): bigint | undefined {
  try {
    return lstatSync(socketPath, { bigint: true }).ino
  } catch {
    return undefined
  }
}

/**
 * Listens on `socketPath`, created 0600 from the start (not tightened after a window). A socket
 * file left by a killed agent is replaced; one a live agent answers on is left alone.
 * @returns false when another agent already serves the socket
 * @throws the listen error (IO_ERROR-worthy: a full disk, a filesystem without sockets)
 */
async function listenOn(server: Server, socketPath: string): Promise<boolean> {
  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const onError = (error: Error): void => {
        server.off('listening', onListening)
        reject(error)
      }
      const onListening = (): void => {
        server.off('error', onError)
        resolve()
      }
      server.once('error', onError)
      server.once('listening', onListening)
      server.listen(socketPath)
    })
  const oldMask = process.umask(0o177)
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await listen()
        break
      } catch (error) {
        if (errno(error) !== 'EADDRINUSE' || attempt >= 2) throw error
        // A socket file is there: a live agent answers; a killed one left it stale.
        const answer = await agentRequest(socketPath, { v: PROTOCOL_VERSION, op: 'status' }, 1_000).catch(() => 'busy' as const)
        if (answer !== undefined) return false
        try {
          unlinkSync(socketPath)
        } catch {
          // gone already: the next listen tells
        }
      }
    }
  } finally {
    process.umask(oldMask)
  }
  chmodSync(socketPath, 0o600)
  return true
}

/**
 * Runs the agent until it has nothing left to hold.
 * @returns when the agent has stopped; `false` when another agent already serves the socket
 * @throws {SSError} AGENT_UNSAFE when the directory is not safe; the listen error when it cannot listen
 */
export async function runAgent(options: AgentOptions): Promise<boolean> {
  ensureAgentDir(options.dir)
  const socketPath = join(options.dir, SOCKET_NAME)
  const unlocked = new UnlockedStashes()
  const budget = new RequestBudget()
  let exiting = false
  let socketIno: bigint | undefined
  let expiryTimer: NodeJS.Timeout | undefined
  let graceTimer: NodeJS.Timeout | undefined
  let watchTimer: NodeJS.Timeout | undefined
  let resolveDone: (value: boolean) => void = () => {}
  const done = new Promise<boolean>((resolve) => (resolveDone = resolve))

  const shutdown = (): void => {
    if (exiting) return
    exiting = true
    clearTimeout(expiryTimer)
    clearInterval(watchTimer)
    clearTimeout(graceTimer)
    unlocked.forgetAll()
    // Unlink the socket only while it is still ours: a newer agent may have replaced it.
    if (socketIno !== undefined && inodeOf(socketPath) === socketIno) {
      try {
        unlinkSync(socketPath)
      } catch {
        // gone already
      }
    }
    server.close(() => resolveDone(true))
    // Connections still open are given a moment, then dropped.
    setTimeout(() => resolveDone(true), 2_000).unref()
  }

  const scheduleExpiry = (): void => {
    clearTimeout(expiryTimer)
    if (exiting) return
    const next = unlocked.expire()
    if (next === undefined) return shutdown()
    // setTimeout cannot wait more than 2^31-1 ms; a long timeout is reached in steps.
    expiryTimer = setTimeout(scheduleExpiry, Math.min(Math.max(next - Date.now(), 0) + 5, 2 ** 31 - 1))
  }

  const context: AgentContext = {
    unlocked,
    changed: () => {
      if (unlocked.size > 0) {
        clearTimeout(graceTimer)
        scheduleExpiry()
      } else {
        // After the answer that emptied it has been written.
        setImmediate(() => unlocked.size === 0 && shutdown())
      }
    },
  }

  const answer = async (line: string, bytes: number): Promise<AgentResponse> => {
    const parsed = parseRequest(line, bytes)
    if (!parsed.ok) return { ok: false, error: parsed.error }
    if (exiting) return { ok: false, error: 'exiting' }
    return handle(parsed.request, context).catch((): AgentResponse => ({ ok: false, error: 'internal error' }))
  }

  const server = createServer({ allowHalfOpen: true }, (socket) => serveConnection(socket, budget, answer))
  if (!(await listenOn(server, socketPath))) return false
  socketIno = inodeOf(socketPath)
  server.on('error', () => shutdown())

  graceTimer = setTimeout(() => unlocked.size === 0 && shutdown(), options.graceMs ?? 10_000)
  // Another agent may have replaced the socket (a start race), or a cleaner removed it:
  // unreachable, this agent would only hold keys for nobody. It forgets them and exits.
  watchTimer = setInterval(() => inodeOf(socketPath) !== socketIno && shutdown(), options.checkMs ?? 2_000)
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(signal, shutdown)
  return done
}
