/**
 * git's credential helper protocol (git-credential(1), gitcredentials(7)), as pure functions.
 *
 * Rules that keep credentials from reaching the wrong host (CVE-2020-5260, CVE-2024-50338,
 * CVE-2024-52006 were all about line splitting):
 *   - lines end at LF only; at most one CR right before the LF is dropped. A lone CR, U+2028
 *     or U+2029 is ordinary data, never a line break, so no `readline` and no `/m` regex here.
 *   - a value that still holds a CR or a NUL refuses the whole input.
 *   - a line longer than {@link MAX_LINE_BYTES} refuses the whole input: cutting it in two
 *     would let the tail of a long `wwwauth[]` line read as `host=victim`.
 *   - `url=` is split the way git splits it; `host` is never re-parsed through `new URL()`.
 *
 * Values are bytes on the wire. They become JS strings losslessly: valid UTF-8 decodes as
 * usual, and each byte of an invalid sequence becomes a lone surrogate U+DC80..U+DCFF (as
 * Python's `surrogateescape` does), so two different byte strings never become one string.
 */
import { SSError } from '../errors.js'

/** The longest line accepted, in bytes, without its LF (and CR). */
export const MAX_LINE_BYTES = 65535

/** A credential description: git's attribute names, values as strings. */
export interface Credential {
  protocol?: string
  host?: string
  path?: string
  username?: string
  password?: string
  password_expiry_utc?: string
  oauth_refresh_token?: string
  authtype?: string
  credential?: string
  ephemeral?: string
  continue?: string
  /** `wwwauth[]`: the server's WWW-Authenticate headers, one-way from git. */
  wwwauth: string[]
  /** `capability[]`: what the sender understands (`authtype`, `state`). */
  capability: string[]
  /** `state[]`: opaque values a helper gave git earlier; each helper reads its own prefix. */
  state: string[]
}

/** The single-valued attributes this module knows, in the order {@link formatCredential} writes them. */
export const SINGLE_ATTRIBUTES = [
  'protocol',
  'host',
  'path',
  'authtype',
  'credential',
  'username',
  'password',
  'password_expiry_utc',
  'oauth_refresh_token',
  'ephemeral',
  'continue',
] as const satisfies readonly (keyof Credential)[]

type SingleAttribute = (typeof SINGLE_ATTRIBUTES)[number]
const LIST_ATTRIBUTES = ['capability', 'wwwauth', 'state'] as const

/** An empty credential description. */
export function emptyCredential(): Credential {
  return { wwwauth: [], capability: [], state: [] }
}

function badInput(message: string): never {
  throw new SSError(message, 'BAD_INPUT')
}

const LF = 0x0a
const CR = 0x0d
const EQUALS = 0x3d
const utf8Strict = new TextDecoder('utf-8', { fatal: true })

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when it is not valid. */
function utf8SequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i] as number
  if (b0 < 0x80) return 1
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => {
    const b = bytes[i + k]
    return b !== undefined && b >= lo && b <= hi
  }
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0
  if (b0 === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0
  if (b0 === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0
  if (b0 >= 0xe1 && b0 <= 0xef) return cont(1) && cont(2) ? 3 : 0
  if (b0 === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0
  if (b0 >= 0xf1 && b0 <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0
  if (b0 === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0
  return 0
}

/**
 * Decodes bytes to a string without losing any: invalid UTF-8 bytes become U+DC80..U+DCFF.
 * @param bytes - any bytes
 * @returns a string that {@link encodeBytes} turns back into exactly `bytes`
 */
export function decodeBytes(bytes: Uint8Array): string {
  try {
    return utf8Strict.decode(bytes)
  } catch {
    let out = ''
    let start = 0
    let i = 0
    while (i < bytes.length) {
      const n = utf8SequenceLength(bytes, i)
      if (n > 0) {
        i += n
        continue
      }
      out += utf8Strict.decode(bytes.subarray(start, i)) + String.fromCharCode(0xdc00 + (bytes[i] as number))
      i++
      start = i
    }
    return out + utf8Strict.decode(bytes.subarray(start))
  }
}

/**
 * Encodes a string as UTF-8, turning U+DC80..U+DCFF back into the raw bytes they stand for.
 * @param text - a string from {@link decodeBytes}, or any well-formed string
 * @returns the bytes
 * @throws {SSError} BAD_INPUT for any other lone surrogate
 */
export function encodeBytes(text: string): Uint8Array {
  if (text.isWellFormed()) return new TextEncoder().encode(text)
  const out: number[] = []
  const encoder = new TextEncoder()
  for (const char of text) {
    const code = char.charCodeAt(0)
    if (char.length === 1 && code >= 0xd800 && code <= 0xdfff) {
      if (code < 0xdc80 || code > 0xdcff) badInput('a credential value holds a lone surrogate')
      out.push(code - 0xdc00)
    } else out.push(...encoder.encode(char))
  }
  return new Uint8Array(out)
}

/** Decodes `%XX` escapes (only valid ones, as git's url_decode does; `+` stays `+`). */
function percentDecode(text: string): string {
  if (!text.includes('%')) return text
  const bytes = encodeBytes(text)
  const out: number[] = []
  const hex = (b: number | undefined): number =>
    b === undefined ? -1 : b >= 0x30 && b <= 0x39 ? b - 0x30 : b >= 0x41 && b <= 0x46 ? b - 0x37 : b >= 0x61 && b <= 0x66 ? b - 0x57 : -1
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number
    const hi = hex(bytes[i + 1])
    const lo = hex(bytes[i + 2])
    if (b === 0x25 && hi >= 0 && lo >= 0) {
      out.push(hi * 16 + lo)
      i += 2
    } else out.push(b)
  }
  return decodeBytes(new Uint8Array(out))
}

const hasControl = (value: string): boolean => value.includes('\r') || value.includes('\n') || value.includes('\0')

/** The parts of a credential URL; absent parts are undefined. */
export interface CredentialUrl {
  protocol: string
  host: string
  username?: string
  password?: string
  path?: string
}

/**
 * Splits a URL the way git's credential_from_url does: `proto://[user[:pass]@]host[/path]`,
 * each part percent-decoded, the host kept whole (port included) and never re-parsed;
 * leading and trailing slashes of the path are trimmed; a `?` or `#` ends the host.
 * @param url - the URL text
 * @returns its parts
 * @throws {SSError} BAD_INPUT when there is no `scheme://`, or a decoded part holds CR, LF or NUL
 */
export function parseCredentialUrl(url: string): CredentialUrl {
  const protoEnd = url.indexOf('://')
  if (protoEnd <= 0) badInput('a credential url has no scheme')
  const rest = url.slice(protoEnd + 3)
  let slash = rest.length
  for (const stop of ['/', '?', '#']) {
    const at = rest.indexOf(stop)
    if (at >= 0 && at < slash) slash = at
  }
  const at = rest.indexOf('@')
  const colon = rest.indexOf(':')
  const parts: CredentialUrl = { protocol: url.slice(0, protoEnd), host: '' }
  let hostStart = 0
  if (at >= 0 && at < slash) {
    if (colon < 0 || at <= colon) parts.username = percentDecode(rest.slice(0, at))
    else {
      parts.username = percentDecode(rest.slice(0, colon))
      parts.password = percentDecode(rest.slice(colon + 1, at))
    }
    hostStart = at + 1
  }
  parts.host = percentDecode(rest.slice(hostStart, slash))
  let path = rest.slice(slash)
  let start = 0
  while (path[start] === '/') start++
  path = path.slice(start)
  if (path !== '') {
    let decoded = percentDecode(path)
    let end = decoded.length
    while (end > 1 && decoded[end - 1] === '/') end--
    decoded = decoded.slice(0, end)
    parts.path = decoded
  }
  for (const value of Object.values(parts)) if (typeof value === 'string' && hasControl(value)) badInput('a credential url holds a control character')
  return parts
}

/**
 * Parses a credential description: `key=value` lines up to a blank line or the end.
 * Unknown attributes are ignored; `key[]=` with an empty value empties that list;
 * `url=` sets protocol, host, path, username and password from the URL (unsetting those
 * the URL lacks). A repeated single-valued attribute keeps its last value.
 * @param input - the bytes git wrote (or a string, encoded as UTF-8)
 * @returns the description
 * @throws {SSError} BAD_INPUT naming the line number (never its content) for a line with
 *   no `=`, a CR or NUL left in it, or more than {@link MAX_LINE_BYTES} bytes
 */
export function parseCredential(input: Uint8Array | string): Credential {
  const bytes = typeof input === 'string' ? encodeBytes(input) : input
  const credential = emptyCredential()
  let start = 0
  let lineNumber = 0
  while (start < bytes.length) {
    lineNumber++
    const lf = bytes.indexOf(LF, start)
    let end = lf < 0 ? bytes.length : lf
    const next = lf < 0 ? bytes.length : lf + 1
    // Only a CR right before an LF is part of the line ending; a CR at EOF stays (and is refused).
    if (lf >= 0 && end > start && bytes[end - 1] === CR) end--
    const line = bytes.subarray(start, end)
    start = next
    if (line.length > MAX_LINE_BYTES) badInput(`credential input line ${lineNumber} is longer than ${MAX_LINE_BYTES} bytes`)
    if (line.length === 0) break
    if (line.includes(CR)) badInput(`credential input line ${lineNumber} holds a carriage return`)
    if (line.includes(0)) badInput(`credential input line ${lineNumber} holds a NUL byte`)
    const eq = line.indexOf(EQUALS)
    if (eq < 0) badInput(`credential input line ${lineNumber} has no '='`)
    apply(credential, decodeBytes(line.subarray(0, eq)), decodeBytes(line.subarray(eq + 1)))
  }
  return credential
}

function apply(credential: Credential, key: string, value: string): void {
  if (key.endsWith('[]')) {
    const name = key.slice(0, -2)
    if (!(LIST_ATTRIBUTES as readonly string[]).includes(name)) return
    const list = credential[name as (typeof LIST_ATTRIBUTES)[number]]
    if (value === '') list.length = 0
    else list.push(value)
    return
  }
  if (key === 'url') {
    const url = parseCredentialUrl(value)
    credential.protocol = url.protocol
    credential.host = url.host
    for (const part of ['path', 'username', 'password'] as const) {
      if (url[part] === undefined) delete credential[part]
      else credential[part] = url[part]
    }
    return
  }
  if ((SINGLE_ATTRIBUTES as readonly string[]).includes(key)) credential[key as SingleAttribute] = value
}

/**
 * Writes a credential description as protocol lines: `capability[]` first (a capability
 * must precede the values that depend on it), then the single-valued attributes in
 * {@link SINGLE_ATTRIBUTES} order, then `wwwauth[]` and `state[]`. No blank line at the end.
 * @param credential - the attributes to write; undefined ones are left out
 * @returns the bytes, each line ending in LF
 * @throws {SSError} BAD_INPUT when a value holds CR, LF or NUL, or a list item is empty
 */
export function formatCredential(credential: Partial<Credential>): Uint8Array {
  const lines: string[] = []
  const add = (key: string, value: string): void => {
    if (hasControl(value)) badInput(`the credential attribute ${key} holds a control character`)
    lines.push(`${key}=${value}\n`)
  }
  const addList = (name: string, values: readonly string[] | undefined): void => {
    for (const value of values ?? []) {
      if (value === '') badInput(`the credential attribute ${name}[] has an empty item`)
      add(`${name}[]`, value)
    }
  }
  addList('capability', credential.capability)
  for (const key of SINGLE_ATTRIBUTES) {
    const value = credential[key]
    if (value !== undefined) add(key, value)
  }
  addList('wwwauth', credential.wwwauth)
  addList('state', credential.state)
  return encodeBytes(lines.join(''))
}

/**
 * How git reads a boolean attribute such as `ephemeral`: true unless it is a false word.
 * Anything unexpected counts as true, which for `ephemeral` is the safe reading (not stored).
 * @param value - the attribute's value, or undefined when absent
 * @returns whether it is set to true
 */
export function isTrue(value: string | undefined): boolean {
  if (value === undefined) return false
  return !['0', 'false', 'no', 'off', ''].includes(value.toLowerCase())
}
