/**
 * The agent's wire protocol (docs/AGENT.md): the requests and answers, their limits, and the
 * one parser that turns a received line into a typed request or a refusal.
 *
 * Framing: a client connects, writes one line of JSON (a request, ended by `\n`), and the agent
 * answers with one line of JSON and closes the connection. Every request carries `v`, the
 * protocol version; fields are checked one by one, and anything unexpected is refused as
 * `malformed request` without a word about what it held.
 */
import { MAX_DEPTH } from '../tree/tree.js'
import { MAX_AGENT_TIMEOUT_MS } from './duration.js'

/**
 * The protocol version every request carries; an agent refuses any other. Adding an optional
 * field to an answer keeps the version (old clients ignore it); anything an old peer would
 * misread changes it.
 */
export const PROTOCOL_VERSION = 1
/** The largest request line: a `write` with its values, base64. A larger write is done by the client itself. */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024
/** The largest line of any request other than `write`: they carry paths and keys, not values. */
export const MAX_SMALL_REQUEST_BYTES = 64 * 1024
/**
 * What all connections together may hold of requests not yet answered. A request that would
 * go over is refused as `busy` (its client then does the work itself), so that any number of
 * unfinished requests cannot fill the agent's memory.
 */
export const REQUEST_BUDGET_BYTES = 48 * 1024 * 1024
/** The part of {@link REQUEST_BUDGET_BYTES} that only requests of at most {@link MAX_SMALL_REQUEST_BYTES} may use: big writes cannot crowd out a `get`. */
export const SMALL_REQUEST_RESERVE_BYTES = 8 * 1024 * 1024
/** Answers larger than this are refused by the client: a `read` answer carries (part of) a stash. */
export const MAX_RESPONSE_BYTES = 512 * 1024 * 1024
/** The longest stash path in a request. */
export const MAX_PATH_LENGTH = 4_096
/** The most key paths one `read` may ask for. */
export const MAX_READ_KEYS = 64

/** `get`: the key the agent holds for the stash at `path`, if the file's key id is `keyId`. */
export interface GetRequest { v: number; op: 'get'; path: string; keyId: string }
/** `read`: the subtrees at `keys` (`[[]]` for all) of the stash at `path`, decrypted by the agent. */
export interface ReadRequest { v: number; op: 'read'; path: string; keys: string[][] }
/** `write`: store `values` (base64) at their key paths, through the stash's lock. */
export interface WriteRequest { v: number; op: 'write'; path: string; values: [string[], string][] }
/** `unlock`: hold `key` (base64) for the stash at `path` for `timeoutMs`. */
export interface UnlockRequest { v: number; op: 'unlock'; path: string; keyId: string; key: string; timeoutMs: number }
/** `lock`: forget the stash at `path`. */
export interface LockRequest { v: number; op: 'lock'; path: string }
/** `lock-all`: forget every stash (the agent then exits). */
export interface LockAllRequest { v: number; op: 'lock-all' }
/** `status`: the agent's pid and what it holds, without secrets. */
export interface StatusRequest { v: number; op: 'status' }
/**
 * `credential`: git-credential-sstash's `get`, answered from the stash at `path`: `request` is
 * git's request as git wrote it (base64), `prefix` the helper's `--prefix` as typed, `rules`
 * the mapping-rules file (src/git/mapping.ts) to read. The answer carries the lines to print.
 */
export interface CredentialRequest { v: number; op: 'credential'; path: string; prefix?: string; rules: string; request: string }

/** A request to the agent. Paths are real paths (symlinks resolved). */
export type AgentRequest = GetRequest | ReadRequest | WriteRequest | UnlockRequest | LockRequest | LockAllRequest | StatusRequest | CredentialRequest
/** The name of a request. */
export type AgentOp = AgentRequest['op']

/** One unlocked stash as `status` reports it: no secret, only where and until when. */
export interface AgentEntry {
  path: string
  /** When it was unlocked (ms since the epoch). */
  unlockedAt: number
  /** When the agent forgets it (ms since the epoch). */
  expiresAt: number
}

/**
 * Why the agent refused a request, as the `error` of an `ok: false` answer. A refused `write`
 * carries its SSError's message instead, with `code`.
 */
export type AgentRefusal =
  | 'malformed request'
  | 'unknown request'
  | 'unsupported protocol version'
  | 'request too large'
  | 'busy'
  | 'exiting'
  | 'internal error'

/** The agent's answer. `ok: false` carries `error`, a one-line reason without secrets. */
export interface AgentResponse {
  ok: boolean
  error?: string
  /** With `ok: false` from a `write`: the SSError code of the failure. */
  code?: string
  /** `get`, `read`, `write`: whether the agent holds that stash, as the file is now. */
  found?: boolean
  /**
   * With `found: false`: `false` when the agent holds no key for that path at all (absent when
   * it holds one it cannot use now), so that no other request about it can succeed.
   */
  held?: boolean
  /** `get`: the key, base64. */
  key?: string
  /** `read`: the selected subtrees, in the tree's binary encoding (src/tree/codec.ts), base64. */
  tree?: string
  /**
   * `read`: for each requested key path that is not in the stash, `[i, n]`: `keys[i]` is
   * missing and its first `n` segments exist. The client rebuilds those `n` nodes, so that its
   * lookups fail at the same segment, with the same error, as a read without the agent.
   */
  missing?: [number, number][]
  /** `credential`: the lines git-credential-sstash prints (base64; empty when nothing matches). */
  answer?: string
  /** `unlock`: when the entry expires. */
  expiresAt?: number
  /** `lock`, `lock-all`: how many entries were forgotten. */
  locked?: number
  /** `status`: the agent's process id and what it holds. */
  pid?: number
  entries?: AgentEntry[]
}

/** What {@link parseRequest} returns. */
export type ParsedRequest = { ok: true; request: AgentRequest } | { ok: false; error: AgentRefusal }

const KEY_ID = /^[0-9a-f]{16,128}$/
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

const isPath = (value: unknown): value is string =>
  typeof value === 'string' && value.startsWith('/') && value.length <= MAX_PATH_LENGTH && !value.includes('\0')

const isKeyId = (value: unknown): value is string => typeof value === 'string' && KEY_ID.test(value)

const isKeyPath = (value: unknown): value is string[] =>
  Array.isArray(value) && value.length <= MAX_DEPTH && value.every((segment) => typeof segment === 'string')

const isKeyList = (value: unknown): value is string[][] => Array.isArray(value) && value.length <= MAX_READ_KEYS && value.every(isKeyPath)

const isValueList = (value: unknown): value is [string[], string][] =>
  Array.isArray(value) &&
  value.length > 0 &&
  value.every(
    (pair) => Array.isArray(pair) && pair.length === 2 && isKeyPath(pair[0]) && typeof pair[1] === 'string' && (pair[1] === '' || BASE64.test(pair[1])),
  )

/** A key: base64 of 16 to 128 bytes. */
const isKey = (value: unknown): value is string => {
  if (typeof value !== 'string' || value.length > 256 || !BASE64.test(value)) return false
  const bytes = Buffer.from(value, 'base64').length
  return bytes >= 16 && bytes <= 128
}

const isTimeout = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 && value <= MAX_AGENT_TIMEOUT_MS

type Fields = Record<string, unknown>

/** Per op: the typed request built from the checked fields, or undefined when a field is wrong. */
const BUILDERS: { [Op in AgentOp]: (r: Fields, v: number) => Extract<AgentRequest, { op: Op }> | undefined } = {
  get: ({ path, keyId }, v) => (isPath(path) && isKeyId(keyId) ? { v, op: 'get', path, keyId } : undefined),
  read: ({ path, keys }, v) => (isPath(path) && isKeyList(keys) ? { v, op: 'read', path, keys } : undefined),
  write: ({ path, values }, v) => (isPath(path) && isValueList(values) ? { v, op: 'write', path, values } : undefined),
  unlock: ({ path, keyId, key, timeoutMs }, v) =>
    isPath(path) && isKeyId(keyId) && isKey(key) && isTimeout(timeoutMs) ? { v, op: 'unlock', path, keyId, key, timeoutMs } : undefined,
  lock: ({ path }, v) => (isPath(path) ? { v, op: 'lock', path } : undefined),
  'lock-all': (_, v) => ({ v, op: 'lock-all' }),
  status: (_, v) => ({ v, op: 'status' }),
  credential: ({ path, prefix, rules, request }, v) =>
    isPath(path) && (prefix === undefined || typeof prefix === 'string') && isPath(rules) && typeof request === 'string' && BASE64.test(request)
      ? { v, op: 'credential', path, ...(prefix === undefined ? {} : { prefix }), rules, request }
      : undefined,
}

const isOp = (op: unknown): op is AgentOp => typeof op === 'string' && Object.hasOwn(BUILDERS, op)

/**
 * Turns one received request line (without its `\n`) into a typed request. Pure, and never
 * throws: whatever the bytes, the result is a request or the refusal to answer with.
 * @param line - the line as received, decoded as UTF-8
 * @param bytes - its length in bytes, for the limit of ops that carry no values
 */
export function parseRequest(line: string, bytes: number): ParsedRequest {
  let raw: unknown
  try {
    raw = JSON.parse(line)
  } catch {
    return { ok: false, error: 'malformed request' }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, error: 'malformed request' }
  const fields = raw as Fields
  if (fields.v !== PROTOCOL_VERSION) return { ok: false, error: 'unsupported protocol version' }
  if (!isOp(fields.op)) return { ok: false, error: 'unknown request' }
  if (fields.op !== 'write' && bytes > MAX_SMALL_REQUEST_BYTES) return { ok: false, error: 'request too large' }
  const request = BUILDERS[fields.op](fields, PROTOCOL_VERSION)
  return request ? { ok: true, request } : { ok: false, error: 'malformed request' }
}
