/**
 * One handler per request of the agent's protocol (./protocol.ts, docs/AGENT.md). Each gets a
 * checked, typed request and returns the answer; none throws (the server turns a bug into
 * `internal error`), and none blocks: every file the agent reads goes through the stash's
 * non-blocking, size-capped reads (readRegularFile), so a FIFO or a device at a stash path is
 * an unreadable file, not a wedged agent.
 */
import { SSError } from '../errors.js'
import { parseStash } from '../format/stash-file.js'
import { readIfExists } from '../fs/read.js'
import type { SecureStash } from '../store/secure-stash.js'
import { encodeTree } from '../tree/codec.js'
import type { Tree } from '../tree/tree.js'
import type { Held, UnlockedStashes } from './unlocked-stashes.js'
import { NOT_HELD, NOT_UNLOCKED, notServed } from './not-served.js'
import { credential } from './credential.js'
import type {
  AgentOp,
  AgentRequest,
  AgentResponse,
  GetRequest,
  LockRequest,
  ReadRequest,
  UnlockRequest,
  WriteRequest,
} from './protocol.js'

/** What handlers work on. */
export interface AgentContext {
  unlocked: UnlockedStashes
  /** To call after entries were added or forgotten: the server re-arms its expiry timer, or exits when nothing is left. */
  changed(): void
}

/** The key id of the stash file at `path` as it is now, or undefined when it is missing or unreadable. */
function currentKeyId(path: string): string | undefined {
  try {
    const bytes = readIfExists(path)
    return bytes && parseStash(bytes, path).keyId
  } catch {
    return undefined
  }
}

/** How many of the first segments of `key` exist in `tree`. */
function existingDepth(tree: Tree, key: readonly string[]): number {
  let node = tree.root
  for (let depth = 0; depth < key.length; depth++) {
    const next = node.children.get(key[depth] as string)
    if (!next) return depth
    node = next
  }
  return key.length
}

function get({ path, keyId }: GetRequest, context: AgentContext, entry: Held): AgentResponse {
  if (entry.keyId === keyId) return { ok: true, found: true, key: entry.key.toString('base64') }
  // The caller saw another key id: if the file no longer matches ours either, the password
  // changed and our key is useless. A client's wrong key id alone does not evict the entry.
  if (currentKeyId(path) !== entry.keyId) {
    context.unlocked.drop(entry)
    context.changed()
  }
  return NOT_HELD
}

// Decrypts for the caller, so that a read-only command (a git fetch, sstash-run) loads no
// cipher and derives nothing. Only the subtrees asked for are sent, and for each key that is
// missing, how far it exists.
async function read({ keys }: ReadRequest, context: AgentContext, entry: Held): Promise<AgentResponse> {
  try {
    const stash = await context.unlocked.opened(entry)
    return await stash.peek((tree): AgentResponse => {
      const missing: [number, number][] = []
      keys.forEach((key, i) => {
        const depth = existingDepth(tree, key)
        if (depth < key.length) missing.push([i, depth])
      })
      const encoded = Buffer.from(encodeTree(tree.select(keys))).toString('base64')
      return missing.length > 0 ? { ok: true, found: true, tree: encoded, missing } : { ok: true, found: true, tree: encoded }
    })
  } catch (error) {
    return notServed(context, entry, error)
  }
}

// Writes for the caller through the ordinary path (the stash's lock, an atomic replace), in
// this warm process, from the tree it holds when the file is unchanged: a cold process would
// spend most of its time starting the cipher and decrypting.
async function write({ path, values }: WriteRequest, context: AgentContext, entry: Held): Promise<AgentResponse> {
  let stash: SecureStash
  try {
    stash = await context.unlocked.opened(entry)
    // Checks the file as it is now: a password change, a damaged or missing file is left to
    // the ordinary path, which says which.
    await stash.peek(() => undefined)
  } catch (error) {
    return notServed(context, entry, error)
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

function unlock({ path, keyId, key, timeoutMs }: UnlockRequest, context: AgentContext): AgentResponse {
  const entry = context.unlocked.add(path, keyId, Buffer.from(key, 'base64'), timeoutMs)
  context.changed()
  return { ok: true, expiresAt: entry.expiresAt }
}

function lock({ path }: LockRequest, context: AgentContext): AgentResponse {
  const locked = context.unlocked.forget(path) ? 1 : 0
  context.changed()
  return { ok: true, locked }
}

function lockAll(_: AgentRequest, context: AgentContext): AgentResponse {
  const locked = context.unlocked.forgetAll()
  context.changed()
  return { ok: true, locked }
}

function status(_: AgentRequest, context: AgentContext): AgentResponse {
  return { ok: true, pid: process.pid, entries: context.unlocked.entries() }
}

type Handler<R> = (request: R, context: AgentContext) => AgentResponse | Promise<AgentResponse>
type KeyedHandler<R> = (request: R, context: AgentContext, entry: Held) => AgentResponse | Promise<AgentResponse>

/** Wraps a handler that uses a held key in the expiry guard: an expired or unknown stash is not held. */
const holding =
  <R extends { path: string }>(handler: KeyedHandler<R>): Handler<R> =>
  (request, context) => {
    const entry = context.unlocked.live(request.path)
    return entry ? handler(request, context, entry) : NOT_UNLOCKED
  }

const HANDLERS: { [Op in AgentOp]: Handler<Extract<AgentRequest, { op: Op }>> } = {
  get: holding(get),
  read: holding(read),
  write: holding(write),
  unlock,
  lock,
  'lock-all': lockAll,
  status,
  credential: holding(credential),
}

/** Answers one checked request. */
export async function handle(request: AgentRequest, context: AgentContext): Promise<AgentResponse> {
  return (HANDLERS[request.op] as Handler<AgentRequest>)(request, context)
}
