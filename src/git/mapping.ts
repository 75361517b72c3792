/**
 * Where git credentials live in the stash tree, and how requests find them.
 *
 * Default layout, one key path per credential, under a prefix (default `git`):
 *
 *   git/<protocol>/<host[:port]>/<path>/<username>/password
 *                                                 /password_expiry_utc
 *                                                 /oauth_refresh_token
 *                                                 /authtype
 *                                                 /credential
 *
 * Each of protocol, host, path and username is ONE segment, escaped by {@link encodeSegment}:
 * `%` `/` and control characters become `%XX`, raw (non-UTF-8) bytes become `%XX`, an absent
 * path or username is `-` and a value that is exactly `-` is `%2D`. The mapping is injective,
 * so two different credentials never share a key path, and lookups are exact `Map` reads
 * (no prefix matching). A request field that is absent matches any stored value, as git's
 * own helpers do; protocol and host are always required.
 *
 * Mapping rules (./mapping-rules.ts) let an existing subtree serve a host.
 */
import { SSError } from '../errors.js'
import type { Tree } from '../tree/tree.js'
import { decodeBytes, encodeBytes, isTrue, type Credential } from './protocol.js'
import { ABSENT, decodeSegment, encodeSegment } from './segment.js'

/** The default prefix of the layout. */
export const DEFAULT_PREFIX: readonly string[] = ['git']

/** The values stored under a credential's key path, one child each. */
export const CREDENTIAL_FIELDS = ['password', 'password_expiry_utc', 'oauth_refresh_token', 'authtype', 'credential'] as const

/** One of {@link CREDENTIAL_FIELDS}. */
export type CredentialField = (typeof CREDENTIAL_FIELDS)[number]

/** A credential found in the stash, with the key path it came from. */
export interface StoredCredential
  extends Pick<Credential, 'path' | 'username' | 'password' | 'password_expiry_utc' | 'oauth_refresh_token' | 'authtype' | 'credential'> {
  /** The key path of the credential's node (its fields are children), or of the mapping rule's subtree. */
  key: string[]
  protocol: string
  host: string
}

/** Options shared by the layout functions. */
export interface MapOptions {
  /** The layout's prefix (default {@link DEFAULT_PREFIX}). */
  prefix?: readonly string[]
}

/**
 * The key path of a credential's node in the default layout; its fields are children.
 * @param credential - protocol and host (required), path and username (optional)
 * @param options - the prefix
 * @returns the key path
 * @throws {SSError} BAD_INPUT when protocol or host is missing
 */
export function credentialKey(credential: Pick<Credential, 'protocol' | 'host' | 'path' | 'username'>, options: MapOptions = {}): string[] {
  if (credential.protocol === undefined || credential.host === undefined)
    throw new SSError('a credential needs a protocol and a host', 'BAD_INPUT')
  return [
    ...(options.prefix ?? DEFAULT_PREFIX),
    encodeSegment(credential.protocol),
    encodeSegment(credential.host),
    encodeSegment(credential.path),
    encodeSegment(credential.username),
  ]
}

const text = (bytes: Uint8Array | undefined): string | undefined => (bytes === undefined ? undefined : decodeBytes(bytes))

/**
 * Every credential in the default layout that matches `request`: same protocol and host,
 * and the same path and username when the request gives them. A request without protocol
 * or host matches nothing. Credentials without a path come first.
 * @param tree - the stash tree
 * @param request - the parsed request
 * @param options - the prefix
 * @returns the matches, with every stored field (expired or not)
 */
export function findCredentials(tree: Tree, request: Partial<Credential>, options: MapOptions = {}): StoredCredential[] {
  const { protocol, host } = request
  if (protocol === undefined || host === undefined) return []
  const base = [...(options.prefix ?? DEFAULT_PREFIX), encodeSegment(protocol), encodeSegment(host)]
  const hostNode = tree.find(base)
  if (!hostNode) return []
  const pick = (names: Iterable<string>, wanted: string | undefined, hasWanted: boolean): string[] => {
    if (hasWanted) return [encodeSegment(wanted)]
    const all = [...names]
    return [...all.filter((n) => n === ABSENT), ...all.filter((n) => n !== ABSENT)]
  }
  const found: StoredCredential[] = []
  for (const pathSeg of pick(hostNode.children.keys(), request.path, request.path !== undefined)) {
    const pathNode = hostNode.children.get(pathSeg)
    const path = decodeSegment(pathSeg)
    if (!pathNode || path === null) continue
    for (const userSeg of pick(pathNode.children.keys(), request.username, request.username !== undefined)) {
      const userNode = pathNode.children.get(userSeg)
      const username = decodeSegment(userSeg)
      if (!userNode || username === null) continue
      const stored: StoredCredential = { key: [...base, pathSeg, userSeg], protocol, host }
      if (path !== undefined) stored.path = path
      if (username !== undefined) stored.username = username
      for (const field of CREDENTIAL_FIELDS) {
        const value = text(userNode.children.get(field)?.value)
        if (value !== undefined) stored[field] = value
      }
      if (stored.password !== undefined || stored.credential !== undefined) found.push(stored)
    }
  }
  return found
}

/** What {@link usableCredential} may return. */
export interface UseOptions {
  /** The time, in seconds since 1970 (default now). */
  now?: number
  /** The request announced `capability[]=authtype`. */
  authtype?: boolean
}

/**
 * A stored credential as `get` may hand it out: an expired password dropped, `authtype` and
 * `credential` dropped unless the request announced the capability.
 * @param stored - a credential from {@link findCredentials} or a mapping rule
 * @param options - the time and the capability
 * @returns the credential, or undefined when nothing usable is left
 */
export function usableCredential(stored: StoredCredential, options: UseOptions = {}): StoredCredential | undefined {
  const now = options.now ?? Math.floor(Date.now() / 1000)
  const out = { ...stored }
  const expiry = out.password_expiry_utc
  if (expiry !== undefined && /^[0-9]+$/.test(expiry) && Number(expiry) > 0 && Number(expiry) < now) {
    delete out.password
    delete out.password_expiry_utc
    delete out.oauth_refresh_token
  }
  if (!options.authtype || out.credential === undefined || out.authtype === undefined) {
    delete out.authtype
    delete out.credential
  }
  return out.password !== undefined || out.credential !== undefined ? out : undefined
}

/**
 * The fields a `store` request would write, or undefined when it must not be stored:
 * no protocol or host, `ephemeral` set, or neither a username and password nor (with the
 * authtype capability) an authtype and credential.
 * @param request - the parsed request
 * @returns the fields to store
 */
export function fieldsToStore(request: Credential): Partial<Record<CredentialField, string>> | undefined {
  if (request.protocol === undefined || request.host === undefined) return undefined
  if (isTrue(request.ephemeral)) return undefined
  const fields: Partial<Record<CredentialField, string>> = {}
  const withAuthtype = request.capability.includes('authtype') && request.authtype !== undefined && request.credential !== undefined
  if (withAuthtype) {
    fields.authtype = request.authtype
    fields.credential = request.credential
  }
  if (request.username !== undefined && request.password !== undefined) {
    fields.password = request.password
    const expiry = request.password_expiry_utc
    if (expiry !== undefined && /^[0-9]+$/.test(expiry) && Number(expiry) > 0) fields.password_expiry_utc = expiry
    if (request.oauth_refresh_token !== undefined) fields.oauth_refresh_token = request.oauth_refresh_token
  }
  return Object.keys(fields).length > 0 ? fields : undefined
}

/**
 * Stores a credential in the default layout, replacing every field of the credential with
 * the same protocol, host, path and username (so a changed expiry or a dropped refresh
 * token does not linger).
 * @param tree - the stash tree
 * @param request - the parsed `store` request
 * @param options - the prefix
 * @returns true when the tree changed, false when it already held exactly this or nothing may be stored
 */
export function storeCredential(tree: Tree, request: Credential, options: MapOptions = {}): boolean {
  const fields = fieldsToStore(request)
  if (!fields) return false
  const key = credentialKey(request, options)
  const node = tree.find(key)
  if (node) {
    const same = CREDENTIAL_FIELDS.every((field) => text(node.children.get(field)?.value) === fields[field])
    if (same && node.value === undefined && node.children.size === Object.keys(fields).length) return false
    tree.remove(key)
  }
  for (const field of CREDENTIAL_FIELDS) {
    const value = fields[field]
    if (value !== undefined) tree.write([...key, field], encodeBytes(value))
  }
  return true
}

/**
 * Removes every credential in the default layout that matches `request` (see
 * {@link findCredentials}), except one whose stored password (or credential) differs from
 * a password (or credential) the request gives. Emptied parent nodes are removed too, up to
 * the prefix. A request without protocol or host removes nothing.
 * @param tree - the stash tree
 * @param request - the parsed `erase` request
 * @param options - the prefix
 * @returns how many credentials were removed
 */
export function eraseCredentials(tree: Tree, request: Credential, options: MapOptions = {}): number {
  const prefixLength = (options.prefix ?? DEFAULT_PREFIX).length
  let removed = 0
  for (const stored of findCredentials(tree, request, options)) {
    if (request.password !== undefined && stored.password !== request.password) continue
    if (request.credential !== undefined && request.capability.includes('authtype') && stored.credential !== request.credential) continue
    tree.remove(stored.key)
    removed++
    for (let depth = stored.key.length - 1; depth > prefixLength; depth--) {
      const parent = stored.key.slice(0, depth)
      const node = tree.find(parent)
      if (!node || node.children.size > 0 || node.value !== undefined) break
      tree.remove(parent)
    }
  }
  return removed
}
