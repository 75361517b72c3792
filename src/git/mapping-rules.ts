/**
 * Mapping rules: requests matching a rule's URL pattern are served from an existing subtree of
 * the stash (`$XDG_CONFIG_HOME/sstash/git.json`), beside the default layout of ./mapping.ts.
 */
import { SSError } from '../errors.js'
import { READ_LIMITS, readRegularFile } from '../fs/read.js'
import { gitRulesPath } from '../locations.js'
import { parseKeyPath } from '../tree/key-path.js'
import type { Tree } from '../tree/tree.js'
import { decodeBytes, isTrue, parseCredentialUrl, type Credential } from './protocol.js'
import type { StoredCredential } from './mapping.js'

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
