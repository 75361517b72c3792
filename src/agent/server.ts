/**
 * The sstash agent: a per-user background process that holds derived stash keys in memory,
 * so that git fetches and `sstash-run` need neither the password nor a key derivation.
 *
 * Rules:
 *   - keys live in this process's memory only; nothing is ever written to disk or logged.
 *   - entries are keyed by the stash's real path and its key id: a password change gives
 *     the file a new key id, and the old key is never handed out for it.
 *   - each entry expires a fixed time after it was unlocked (not after its last use), as
 *     git credential-cache's entries do; using a stash does not keep it unlocked.
 *   - the process exits when it holds nothing: after `lock --all`, after the last expiry,
 *     or when nothing was unlocked within a short grace period after it started.
 *   - the socket lives in a 0700 directory owned by the user, checked before use; the socket
 *     itself is 0600. Requests are size-limited and checked field by field.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { chmod, lstat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import {
  MAX_AGENT_TIMEOUT_MS,
  MAX_REQUEST_BYTES,
  PROTOCOL_VERSION,
  SOCKET_NAME,
  agentRequest,
  ensureAgentDir,
  type AgentEntry,
  type AgentResponse,
} from './client.js'
import { parseStash } from '../format/stash-file.js'
import { encodeTree } from '../tree/codec.js'
import { MAX_DEPTH } from '../tree/tree.js'
import { readIfExists } from '../store/read.js'
import { SSError, errno } from '../errors.js'
import { SecureStash } from '../store/secure-stash.js'

/** Options of {@link runAgent}. */
export interface AgentOptions {
  /** The agent directory (see agentDir); created 0700 when missing, refused when unsafe. */
  dir: string
  /** Exit when nothing has been unlocked this long after start (default 10 s). */
  graceMs?: number
  /** How often to check that the socket is still ours (default 2 s). */
  checkMs?: number
}

interface Held extends AgentEntry {
  keyId: string
  key: Buffer
  /**
   * The stash opened with this key on first use. Its snapshot (the tree last decrypted or
   * written, and the identity of that file) serves reads and writes while the file is unchanged.
   */
  stash?: SecureStash
}

/** How long one connection may take to send its request before it is dropped. */
const REQUEST_TIMEOUT_MS = 5_000
const MAX_PATH_LENGTH = 4_096
const KEY_ID = /^[0-9a-f]{16,128}$/
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/** The key id of a stash file's bytes, or undefined when it is missing or unreadable. */
function currentKeyId(bytes: Uint8Array | undefined, path: string): string | undefined {
  try {
    return bytes && parseStash(bytes, path).keyId
  } catch {
    return undefined
  }
}

const MAX_READ_KEYS = 64

function isKeyList(value: unknown): value is string[][] {
  return (
    Array.isArray(value) &&
    value.length <= MAX_READ_KEYS &&
    value.every((key) => Array.isArray(key) && key.length <= MAX_DEPTH && key.every((segment) => typeof segment === 'string'))
  )
}

function isValueList(value: unknown): value is [string[], string][] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every(
      (pair) =>
        Array.isArray(pair) &&
        pair.length === 2 &&
        isKeyList([pair[0]]) &&
        typeof pair[1] === 'string' &&
        (pair[1] === '' || BASE64.test(pair[1])),
    )
  )
}

function isPath(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith('/') && value.length <= MAX_PATH_LENGTH && !value.includes('\0')
}

/**
 * Runs the agent until it has nothing left to hold.
 * @returns when the agent has stopped; `false` when another agent already serves the socket
 * @throws {SSError} AGENT_UNSAFE when the directory is not safe; IO_ERROR when it cannot listen
 */
export async function runAgent(options: AgentOptions): Promise<boolean> {
  ensureAgentDir(options.dir)
  const socketPath = join(options.dir, SOCKET_NAME)
  const held = new Map<string, Held>()
  let exiting = false
  let expiryTimer: NodeJS.Timeout | undefined
  let socketIno = 0
  let graceTimer: NodeJS.Timeout | undefined
  let watchTimer: NodeJS.Timeout | undefined

  const forget = (path: string): boolean => {
    const entry = held.get(path)
    if (!entry) return false
    // Best effort: the bytes are overwritten before the buffer is dropped.
    entry.key.fill(0)
    entry.stash = undefined
    held.delete(path)
    return true
  }

  const server: Server = createServer({ allowHalfOpen: true }, (socket) => serve(socket))
  let resolveDone: (value: boolean) => void = () => {}
  const done = new Promise<boolean>((resolve) => (resolveDone = resolve))

  const shutdown = (): void => {
    if (exiting) return
    exiting = true
    clearTimeout(expiryTimer)
    clearInterval(watchTimer)
    clearTimeout(graceTimer)
    for (const path of [...held.keys()]) forget(path)
    void (async () => {
      // Unlink the socket only while it is still ours: a newer agent may have replaced it.
      const info = await lstat(socketPath).catch(() => undefined)
      if (info && info.ino === socketIno) await unlink(socketPath).catch(() => {})
      server.close(() => resolveDone(true))
      // Connections still open are given a moment, then dropped.
      setTimeout(() => resolveDone(true), 2_000).unref()
    })()
  }

  const dropStale = (entry: Held): void => {
    if (held.get(entry.path) !== entry) return
    forget(entry.path)
    setImmediate(exitIfEmpty)
  }

  /** The entry's stash, opened with its key on first use. @throws as SecureStash.openWithKey */
  const opened = async (entry: Held): Promise<SecureStash> => {
    entry.stash ??= await SecureStash.openWithKey(entry.path, { keyId: entry.keyId, key: entry.key })
    return entry.stash
  }

  /**
   * The answer when the agent cannot serve a stash it holds. A file that is gone, or that has
   * a new password, makes the key useless: it is dropped. A damaged file keeps it.
   */
  const notServed = (entry: Held, error: unknown): AgentResponse => {
    if (error instanceof SSError && (error.code === 'STASH_NOT_FOUND' || error.code === 'KEY_CHANGED')) dropStale(entry)
    return { ok: true, found: false }
  }

  const exitIfEmpty = (): void => {
    if (held.size === 0) shutdown()
  }

  const scheduleExpiry = (): void => {
    clearTimeout(expiryTimer)
    if (exiting) return
    const now = Date.now()
    for (const [path, entry] of held) if (entry.expiresAt <= now) forget(path)
    if (held.size === 0) return shutdown()
    const next = Math.min(...[...held.values()].map((entry) => entry.expiresAt))
    // setTimeout cannot wait more than 2^31-1 ms; a long timeout is reached in steps.
    expiryTimer = setTimeout(scheduleExpiry, Math.min(Math.max(next - now, 0) + 5, 2 ** 31 - 1))
  }

  const handle = async (request: Record<string, unknown>): Promise<AgentResponse> => {
    if (request.v !== PROTOCOL_VERSION) return { ok: false, error: 'unsupported protocol version' }
    if (exiting) return { ok: false, error: 'exiting' }
    const now = Date.now()
    switch (request.op) {
      case 'get': {
        if (!isPath(request.path) || typeof request.keyId !== 'string' || !KEY_ID.test(request.keyId))
          return { ok: false, error: 'malformed request' }
        const entry = held.get(request.path)
        if (!entry || entry.expiresAt <= now) return { ok: true, found: false }
        if (entry.keyId === request.keyId) return { ok: true, found: true, key: entry.key.toString('base64') }
        // The caller saw another key id: if the file on disk no longer matches ours, the
        // password changed and our key is useless; drop it.
        let bytes: Uint8Array | undefined
        try {
          bytes = readIfExists(request.path)
        } catch {
          bytes = undefined
        }
        if (currentKeyId(bytes, request.path) !== entry.keyId) dropStale(entry)
        return { ok: true, found: false }
      }
      case 'read': {
        // Decrypts for the caller, so that a read-only command (a git fetch, sstash-run) loads
        // no cipher and derives nothing. Only the subtrees asked for are sent.
        const { path, keys } = request
        if (!isPath(path) || !isKeyList(keys)) return { ok: false, error: 'malformed request' }
        const entry = held.get(path)
        if (!entry || entry.expiresAt <= now) return { ok: true, found: false }
        try {
          const stash = await opened(entry)
          const tree = await stash.peek((tree) => encodeTree(tree.select(keys)))
          return { ok: true, found: true, tree: Buffer.from(tree).toString('base64') }
        } catch (error) {
          // A damaged file gets its error from the ordinary path, with the ordinary message.
          return notServed(entry, error)
        }
      }
      case 'write': {
        // Writes for the caller through the ordinary path (the stash's lock, an atomic replace),
        // in this warm process, from the tree it holds when the file is unchanged: a cold
        // process would spend most of its time starting the cipher and decrypting.
        const { path, values } = request
        if (!isPath(path) || !isValueList(values)) return { ok: false, error: 'malformed request' }
        const entry = held.get(path)
        if (!entry || entry.expiresAt <= now) return { ok: true, found: false }
        let stash: SecureStash
        try {
          stash = await opened(entry)
          // Checks the file as it is now: a password change, a damaged or missing file is left
          // to the ordinary path, which says which.
          await stash.peek(() => undefined)
        } catch (error) {
          return notServed(entry, error)
        }
        try {
          await stash.update((tree) => {
            for (const [key, value] of values) tree.write(key, new Uint8Array(Buffer.from(value, 'base64')))
          })
        } catch (error) {
          const code = error instanceof SSError ? error.code : 'WRITE_FAILED'
          return { ok: false, code, error: error instanceof SSError ? error.message : `cannot write ${path}` }
        }
        return { ok: true, found: true }
      }
      case 'unlock': {
        const { path, keyId, key, timeoutMs } = request
        if (!isPath(path) || typeof keyId !== 'string' || !KEY_ID.test(keyId)) return { ok: false, error: 'malformed request' }
        if (typeof key !== 'string' || key.length > 256 || !BASE64.test(key)) return { ok: false, error: 'malformed request' }
        if (typeof timeoutMs !== 'number' || !Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_AGENT_TIMEOUT_MS)
          return { ok: false, error: 'malformed request' }
        const bytes = Buffer.from(key, 'base64')
        if (bytes.length < 16 || bytes.length > 128) return { ok: false, error: 'malformed request' }
        forget(path)
        held.set(path, { path, keyId, key: bytes, unlockedAt: now, expiresAt: now + timeoutMs })
        clearTimeout(graceTimer)
        scheduleExpiry()
        return { ok: true, expiresAt: now + timeoutMs }
      }
      case 'lock': {
        if (!isPath(request.path)) return { ok: false, error: 'malformed request' }
        const locked = forget(request.path) ? 1 : 0
        setImmediate(exitIfEmpty)
        return { ok: true, locked }
      }
      case 'lock-all': {
        const locked = held.size
        for (const path of [...held.keys()]) forget(path)
        setImmediate(exitIfEmpty)
        return { ok: true, locked }
      }
      case 'status': {
        const entries = [...held.values()]
          .filter((entry) => entry.expiresAt > now)
          .map(({ path, unlockedAt, expiresAt }) => ({ path, unlockedAt, expiresAt }))
        return { ok: true, pid: process.pid, entries }
      }
      default:
        return { ok: false, error: 'unknown request' }
    }
  }

  const serve = (socket: Socket): void => {
    const chunks: Buffer[] = []
    let size = 0
    let answered = false
    // A client killed mid-request leaves a half-sent line: it is dropped, the agent goes on.
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy())
    socket.on('error', () => socket.destroy())
    const reply = (response: AgentResponse): void => {
      answered = true
      if (!socket.destroyed) socket.end(`${JSON.stringify(response)}\n`)
    }
    socket.on('data', (chunk: Buffer) => {
      if (answered) return
      size += chunk.length
      if (size > MAX_REQUEST_BYTES) return reply({ ok: false, error: 'request too large' })
      chunks.push(chunk)
      // Only the new chunk is searched: a large request arrives in many chunks.
      if (!chunk.includes(0x0a)) return
      answered = true
      const text = Buffer.concat(chunks).toString('utf8')
      let request: unknown
      try {
        request = JSON.parse(text.slice(0, text.indexOf('\n')))
      } catch {
        return reply({ ok: false, error: 'malformed request' })
      }
      if (typeof request !== 'object' || request === null || Array.isArray(request)) return reply({ ok: false, error: 'malformed request' })
      handle(request as Record<string, unknown>).then(reply, () => reply({ ok: false, error: 'internal error' }))
    })
    socket.on('end', () => {
      if (!answered) socket.end()
    })
  }

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

  // The socket is created 0600 from the start, not tightened after a window.
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
        await unlink(socketPath).catch(() => {})
      }
    }
  } finally {
    process.umask(oldMask)
  }
  await chmod(socketPath, 0o600)
  socketIno = (await lstat(socketPath)).ino
  server.on('error', () => shutdown())

  graceTimer = setTimeout(exitIfEmpty, options.graceMs ?? 10_000)
  // Another agent may have replaced the socket (a start race), or a cleaner removed it:
  // unreachable, this agent would only hold keys for nobody. It forgets them and exits.
  watchTimer = setInterval(() => {
    lstat(socketPath).then(
      (info) => info.ino !== socketIno && shutdown(),
      () => shutdown(),
    )
  }, options.checkMs ?? 2_000)

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(signal, shutdown)
  return done
}
