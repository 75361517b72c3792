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
 * Mapping rules (see {@link parseMappingRules}) let an existing subtree serve a host.
 */
import { SSError } from '../errors.js'
import { READ_LIMITS, readRegularFile } from '../fs/read.js'
import { gitRulesPath } from '../locations.js'
import { parseKeyPath } from '../tree/key-path.js'
import type { Tree } from '../tree/tree.js'
import { decodeBytes, encodeBytes, isTrue, parseCredentialUrl, type Credential } from './protocol.js'

/** The default prefix of the layout. */
export const DEFAULT_PREFIX: readonly string[] = ['git']

/** The values stored under a credential's key path, one child each. */
export const CREDENTIAL_FIELDS = ['password', 'password_expiry_utc', 'oauth_refresh_token', 'authtype', 'credential'] as const

/** One of {@link CREDENTIAL_FIELDS}. */
export type CredentialField = (typeof CREDENTIAL_FIELDS)[number]

/** The segment that stands for an absent path or username. */
export const ABSENT = '-'

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

const hex2 = (code: number): string => `%${code.toString(16).toUpperCase().padStart(2, '0')}`

/**
 * One field as one key segment, injectively (see the module comment).
 * @param value - the field's value, or undefined when absent
 * @returns the segment
 */
export function encodeSegment(value: string | undefined): string {
  if (value === undefined) return ABSENT
  if (value === ABSENT) return '%2D'
  let out = ''
  for (const char of value) {
    const code = char.charCodeAt(0)
    if (char === '%' || char === '/' || code < 0x20 || code === 0x7f) out += hex2(code)
    else if (char.length === 1 && code >= 0xdc80 && code <= 0xdcff) out += hex2(code - 0xdc00)
    else out += char
  }
  return out
}

/**
 * The inverse of {@link encodeSegment}.
 * @param segment - a key segment
 * @returns the field value, undefined for {@link ABSENT}, or null when `segment` is not one
 *   {@link encodeSegment} writes (a key someone made by hand); such keys are skipped
 */
export function decodeSegment(segment: string): string | undefined | null {
  if (segment === ABSENT) return undefined
  const bytes: number[] = []
  const encoder = new TextEncoder()
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i] as string
    if (c !== '%') {
      const code = segment.codePointAt(i) as number
      if (code > 0xffff) i++
      bytes.push(...encoder.encode(String.fromCodePoint(code)))
      continue
    }
    const pair = segment.slice(i + 1, i + 3)
    if (!/^[0-9A-F]{2}$/.test(pair)) return null
    bytes.push(parseInt(pair, 16))
    i += 2
  }
  const value = decodeBytes(new Uint8Array(bytes))
  return encodeSegment(value) === segment ? value : null
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

/** A mapping rule: requests matching `url` are served from an existing subtree. */
export interface MappingRule {
  /** The pattern as written: `protocol://host[:port][/path]`, `*` matching within one host label. */
  url: string
  protocol: string
  host: string
  path?: string
  /** The subtree holding the credential. */
  key: string[]
  /** The child of `key` holding the username, if any. */
  username?: string[]
  /** The child of `key` holding the password (default `password`). */
  password: string[]
}

/** The mapping-rules file: `$XDG_CONFIG_HOME/sstash/git.json` (resolved in ../locations.ts). */
export function mappingRulesPath(env: Record<string, string | undefined> = process.env): string {
  return gitRulesPath(env)
}

/**
 * Parses the mapping-rules file:
 *
 *   { "rules": [ { "url": "https://*.example.com", "key": "project/SomeService",
 *                  "username": "user", "password": "token" } ] }
 *
 * `key`, `username` and `password` use the command-line key-path syntax; `username` is
 * optional, `password` defaults to `password`.
 * @param json - the file's text
 * @param source - the file name, for messages
 * @returns the rules, in file order
 * @throws {SSError} BAD_CONFIG naming the file and the rule number
 */
export function parseMappingRules(json: string, source: string): MappingRule[] {
  const bad = (why: string): never => {
    throw new SSError(`${source}: ${why}`, 'BAD_CONFIG')
  }
  let data: unknown
  try {
    data = JSON.parse(json)
  } catch {
    bad('not valid JSON')
  }
  const rules = (data as { rules?: unknown } | null)?.rules
  if (typeof data !== 'object' || data === null || !Array.isArray(rules)) return bad('expected an object with a "rules" array')
  return rules.map((raw: unknown, index): MappingRule => {
    const where = `rule ${index + 1}`
    if (typeof raw !== 'object' || raw === null) return bad(`${where} is not an object`)
    const rule = raw as Record<string, unknown>
    for (const name of Object.keys(rule))
      if (!['url', 'key', 'username', 'password'].includes(name)) bad(`${where} has an unknown field "${name}"`)
    const str = (name: string, required: boolean): string | undefined => {
      const value = rule[name]
      if (value === undefined && !required) return undefined
      if (typeof value !== 'string' || value === '') return bad(`${where}: "${name}" must be a non-empty string`)
      return value
    }
    const url = str('url', true) as string
    let parts
    try {
      parts = parseCredentialUrl(url)
    } catch {
      return bad(`${where}: "url" must look like https://host.example.com`)
    }
    if (parts.username !== undefined || parts.password !== undefined || parts.host === '')
      bad(`${where}: "url" must name a host and no user or password`)
    const keyPath = (name: string, text: string | undefined): string[] | undefined => {
      if (text === undefined) return undefined
      try {
        const key = parseKeyPath(text)
        if (key.length === 0) bad(`${where}: "${name}" must not be the root`)
        return key
      } catch (error) {
        if (error instanceof SSError && error.code === 'BAD_CONFIG') throw error
        return bad(`${where}: "${name}" is not a valid key path`)
      }
    }
    const mapped: MappingRule = {
      url,
      protocol: parts.protocol,
      host: parts.host,
      key: keyPath('key', str('key', true)) as string[],
      password: keyPath('password', str('password', false)) ?? ['password'],
    }
    if (parts.path !== undefined) mapped.path = parts.path
    const username = keyPath('username', str('username', false))
    if (username) mapped.username = username
    return mapped
  })
}

/**
 * Reads the mapping rules from {@link mappingRulesPath}; a missing file means no rules.
 * @param env - the environment giving XDG_CONFIG_HOME
 * @returns the rules
 * @throws {SSError} BAD_CONFIG; NOT_A_FILE, FILE_TOO_LARGE, IO_ERROR when the file exists but cannot be read
 */
export function loadMappingRules(env: Record<string, string | undefined> = process.env): MappingRule[] {
  const file = mappingRulesPath(env)
  // Never blocks, never fills memory: a FIFO or /dev/zero there is an error at once (fs/read.ts).
  const bytes = readRegularFile(file, READ_LIMITS.config)
  if (bytes === undefined) return []
  return parseMappingRules(Buffer.from(bytes).toString('utf8'), file)
}

/** `*` matches one or more characters within one host label (no `.` or `:`); all else is literal. */
function hostMatches(pattern: string, host: string): boolean {
  const match = (p: number, h: number): boolean => {
    if (p === pattern.length) return h === host.length
    if (pattern[p] !== '*') return h < host.length && pattern[p] === host[h] && match(p + 1, h + 1)
    for (let end = h + 1; end <= host.length; end++) {
      const c = host[end - 1]
      if (c === '.' || c === ':') break
      if (match(p + 1, end)) return true
    }
    return false
  }
  return match(0, 0)
}

/**
 * Whether a mapping rule serves a request: same protocol, host matching the pattern
 * (ports must match too), and the same path when the rule names one.
 * @param rule - a mapping rule
 * @param request - the parsed request
 * @returns true when it applies
 */
export function ruleMatches(rule: MappingRule, request: Partial<Credential>): boolean {
  if (request.protocol === undefined || request.host === undefined) return false
  if (request.protocol !== rule.protocol || !hostMatches(rule.host, request.host)) return false
  return rule.path === undefined || request.path === rule.path
}

// A token saved with `echo token | sstash set` ends in a newline that is not part of it.
const dropNewline = (value: string): string => (value.endsWith('\r\n') ? value.slice(0, -2) : value.endsWith('\n') ? value.slice(0, -1) : value)

/**
 * The credential the first matching rule serves (one trailing newline of each value dropped), read from its subtree. A rule whose
 * password child is missing, or whose username differs from the request's, is skipped.
 * @param tree - the stash tree
 * @param request - the parsed request
 * @param rules - the mapping rules
 * @returns the credential, or undefined
 */
export function findByRules(tree: Tree, request: Partial<Credential>, rules: readonly MappingRule[]): StoredCredential | undefined {
  for (const rule of rules) {
    if (!ruleMatches(rule, request)) continue
    const password = tree.find([...rule.key, ...rule.password])?.value
    if (password === undefined) continue
    const username = rule.username ? tree.find([...rule.key, ...rule.username])?.value : undefined
    const found: StoredCredential = {
      key: [...rule.key],
      protocol: request.protocol as string,
      host: request.host as string,
      password: dropNewline(decodeBytes(password)),
    }
    if (username !== undefined) found.username = dropNewline(decodeBytes(username))
    if (request.username !== undefined && found.username !== undefined && found.username !== request.username) continue
    return found
  }
  return undefined
}
