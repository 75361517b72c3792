/**
 * `--mask`: replaces secret values with `*****` in the command's output.
 *
 * What is hidden, for each injected value of at least {@link MIN_MASKED_LENGTH} characters
 * (shorter values, `1`, `yes`, `8080`, are too common in ordinary output to hide and too short
 * to be secrets):
 *   - the value as bytes (UTF-8);
 *   - the value as it appears inside a string printed by JSON.stringify, by Python's json.dumps
 *     (non-ASCII as \uXXXX), by PHP's json_encode (`\/`), by Go's encoding/json (`\u003c`,
 *     `\u003e`, `\u0026`), by util.inspect or Python's repr (`\n`, `\t`, `\\`, `\'`, `\x1b`);
 *   - percent-encoded as encodeURIComponent, encodeURI, URLSearchParams and Python's
 *     urllib.parse.quote (with safe='' and the default '/') and quote_plus write it (upper-case
 *     hex, as all of them do);
 *   - HTML-escaped (`&amp;`, `&lt;`, `&gt;`, `&quot;`, `'` as `&#39;`, `&#x27;` or `&#039;`);
 *   - base64 and base64url, padded or not, and the part of a larger base64 string that
 *     depends on the value alone at each alignment (`Basic base64(user:password)`), when that
 *     part is at least 8 characters long;
 *   - hex of the UTF-8 bytes, lower and upper case; and `'` as a shell's `'\''`;
 *   - each line of a multi-line value (a PEM key) of at least that length, in the same forms,
 *     so that a value printed with other line endings (CRLF) or line by line is hidden too.
 * Overlapping or adjacent matches are hidden as one `*****`.
 *
 * The search is Aho-Corasick over bytes: one pass over the output, whatever the number of
 * values, holding back at most the longest form less one byte (the part of the output that
 * could still be the start of a value), so a value split across writes (or a multi-byte
 * character split across chunks) is still found. When the command's stdout and stderr go to
 * the same file (a terminal, `2>&1`), both pass through one masker, so a value split between
 * them is found too; when they go to different files, each is masked on its own.
 */
import { fstatSync } from 'node:fs'
import type { Readable, Writable } from 'node:stream'

/** What a masked value is replaced with. */
export const MASK = '*****'
const MASK_BYTES = Buffer.from(MASK)

/** Values (and lines of values) shorter than this, in characters, are not masked. */
export const MIN_MASKED_LENGTH = 6
/** The shortest part of a larger base64 string that is hidden: shorter parts occur in any base64 by chance. */
const MIN_EMBEDDED_LENGTH = 8

const long = (s: string): boolean => [...s].length >= MIN_MASKED_LENGTH

/** `s` as util.inspect and Python's repr print its inside: backslash escapes, `'` escaped or not. */
function reprForms(s: string): string[] {
  const escaped = s.replace(/[\\\n\r\t\x00-\x1f\x7f]/g, (c) => {
    const named: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' }
    return named[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`
  })
  const upperHex = escaped.replace(/\\x([0-9a-f]{2})/g, (_m, h: string) => `\\x${h.toUpperCase()}`)
  return [escaped, upperHex, escaped.replace(/'/g, "\\'"), upperHex.replace(/'/g, "\\'")]
}

const hex2 = (c: string): string => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`

/** The percent-encodings of the standard libraries (see the module comment), or [] for a lone surrogate. */
function percentForms(s: string): string[] {
  let component: string
  let uri: string
  try {
    component = encodeURIComponent(s)
    uri = encodeURI(s)
  } catch {
    return []
  }
  // Python's quote(v, safe='') and quote(v): encodeURIComponent plus !'()*, and / kept.
  const python = component.replace(/[!'()*]/g, hex2)
  // quote_plus, and URLSearchParams (which also encodes ~ but keeps *): a space is +.
  const plus = python.replace(/%20/g, '+')
  const searchParams = component.replace(/[!'()~]/g, hex2).replace(/%20/g, '+')
  return [component, uri, python, python.replace(/%2F/g, '/'), plus, searchParams]
}

/** JSON as PHP's json_encode (`\/`, non-ASCII as \uXXXX) and Go's encoding/json (`<>&` and U+2028/9 as \u00XX) write it. */
function jsonForms(json: string, ascii: string): string[] {
  const go = json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  return [json.replace(/\//g, '\\/'), ascii.replace(/\//g, '\\/'), go]
}

/** HTML's escapes, as template engines, Python's html.escape and PHP's htmlspecialchars write them. */
function htmlForms(s: string): string[] {
  const base = s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
  return [base, base.replace(/'/g, '&#39;'), base.replace(/'/g, '&#x27;'), base.replace(/'/g, '&#039;')]
}

/**
 * Base64 and base64url of the UTF-8 bytes, padded and not, and, for a value inside a larger
 * encoded string (`Basic base64(user:password)`), the characters that depend on the value alone
 * at each of the three alignments.
 */
function base64Forms(s: string): string[] {
  const bytes = Buffer.from(s, 'utf8')
  const out: string[] = []
  for (const shift of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64')
    const stable = encoded.slice([0, 2, 3][shift], Math.floor(((shift + bytes.length) * 8) / 6))
    if (shift === 0) out.push(encoded, encoded.replace(/=+$/, ''))
    if (stable.length >= MIN_EMBEDDED_LENGTH) out.push(stable)
  }
  return [...out, ...out.map((f) => f.replace(/\+/g, '-').replace(/\//g, '_'))]
}

function formsOf(s: string): string[] {
  const json = JSON.stringify(s).slice(1, -1)
  const ascii = json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  const hex = Buffer.from(s, 'utf8').toString('hex')
  return [
    s, json, ascii, ...jsonForms(json, ascii), ...percentForms(s), ...reprForms(s), ...htmlForms(s),
    ...base64Forms(s), hex, hex.toUpperCase(), s.replace(/'/g, "'\\''"),
  ]
}

/**
 * Every spelling {@link Masker} hides for `values` (see the module comment).
 * @returns unique, non-empty strings
 */
export function maskedForms(values: readonly string[]): string[] {
  const out = new Set<string>()
  for (const value of values) {
    if (long(value)) for (const f of formsOf(value)) out.add(f)
    const lines = value.split(/\r\n|\r|\n/)
    if (lines.length > 1) for (const line of lines) if (long(line)) for (const f of formsOf(line)) out.add(f)
  }
  return [...out]
}

/** A byte-level Aho-Corasick automaton: node 0 is the root. */
class Automaton {
  /** Edges, keyed node * 256 + byte. */
  readonly #next = new Map<number, number>()
  readonly #root = new Int32Array(256)
  /** Per node: its depth, its failure link, and the longest needle ending here. */
  readonly depth: number[] = [0]
  readonly #fail: number[] = [0]
  readonly longest: number[] = [0]

  constructor(needles: readonly Buffer[]) {
    for (const needle of needles) {
      let node = 0
      for (const byte of needle) {
        let child = this.#next.get(node * 256 + byte)
        if (child === undefined) {
          child = this.depth.length
          this.depth.push(this.depth[node] as number + 1)
          this.#fail.push(0)
          this.longest.push(0)
          this.#next.set(node * 256 + byte, child)
        }
        node = child
      }
      this.longest[node] = needle.length
    }
    this.#link()
  }

  /** Failure links and inherited matches, breadth first. */
  #link(): void {
    const children = new Map<number, [number, number][]>()
    for (const [key, child] of this.#next) {
      const parent = Math.floor(key / 256)
      const list = children.get(parent) ?? []
      list.push([key % 256, child])
      children.set(parent, list)
      if (parent === 0) this.#root[key % 256] = child
    }
    const queue = (children.get(0) ?? []).map(([, child]) => child)
    for (let i = 0; i < queue.length; i++) {
      const node = queue[i] as number
      for (const [byte, child] of children.get(node) ?? []) {
        let f = this.#fail[node] as number
        while (f !== 0 && this.#next.get(f * 256 + byte) === undefined) f = this.#fail[f] as number
        const target = f === 0 ? this.#root[byte] : this.#next.get(f * 256 + byte)
        const link = target !== undefined && target !== child ? target : 0
        this.#fail[child] = link
        this.longest[child] = Math.max(this.longest[child] as number, this.longest[link] as number)
        queue.push(child)
      }
    }
  }

  /** The state after reading `byte` in `state`. */
  step(state: number, byte: number): number {
    let s = state
    for (;;) {
      if (s === 0) return this.#root[byte] as number
      const next = this.#next.get(s * 256 + byte)
      if (next !== undefined) return next
      s = this.#fail[s] as number
    }
  }
}

/** A streaming masker: feed chunks in, get masked chunks out. */
export class Masker {
  readonly #automaton: Automaton
  #state = 0
  /** Bytes not yet written, starting at absolute offset #start. */
  #pending: Buffer = Buffer.alloc(0)
  #start = 0
  /** Masked byte ranges [from, to) not yet written past, merged, in order. */
  #ranges: [number, number][] = []
  #lastMasked = false

  /** @param values - the values to hide; see {@link maskedForms} for what that means */
  constructor(values: readonly string[]) {
    this.#automaton = new Automaton(maskedForms(values).map((v) => Buffer.from(v, 'utf8')))
  }

  /** Masks a chunk; returns what can be written now. */
  push(chunk: Uint8Array): Buffer {
    const at = this.#start + this.#pending.length
    this.#pending = this.#pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#pending, chunk])
    const { depth, longest } = this.#automaton
    let state = this.#state
    for (let i = 0; i < chunk.length; i++) {
      state = this.#automaton.step(state, chunk[i] as number)
      const length = longest[state] as number
      if (length > 0) this.#addRange(at + i + 1 - length, at + i + 1)
    }
    this.#state = state
    // A match still to come starts no earlier than the longest suffix that is a needle's prefix.
    return this.#emit(at + chunk.length - (depth[state] as number))
  }

  /** Returns whatever is held back, masked, at the end of the stream. */
  end(): Buffer {
    this.#state = 0
    return this.#emit(this.#start + this.#pending.length)
  }

  #addRange(from: number, to: number): void {
    let f = from
    for (let last = this.#ranges.at(-1); last && last[1] >= f; last = this.#ranges.at(-1)) {
      f = Math.min(f, last[0])
      this.#ranges.pop()
    }
    this.#ranges.push([f, to])
  }

  /** Writes out everything before absolute offset `until`. */
  #emit(until: number): Buffer {
    const out: Buffer[] = []
    let at = this.#start
    while (at < until) {
      const range = this.#ranges[0]
      if (range && range[0] <= at) {
        if (!this.#lastMasked) out.push(MASK_BYTES)
        this.#lastMasked = true
        at = Math.min(range[1], until)
        if (at >= range[1]) this.#ranges.shift()
      } else {
        const stop = range ? Math.min(range[0], until) : until
        out.push(this.#pending.subarray(at - this.#start, stop - this.#start))
        this.#lastMasked = false
        at = stop
      }
    }
    this.#pending = Buffer.from(this.#pending.subarray(at - this.#start))
    this.#start = at
    return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out)
  }
}

/** True when fd 1 and fd 2 are the same file (a terminal, or `2>&1`). */
function sameDestination(): boolean {
  try {
    const [out, err] = [fstatSync(1), fstatSync(2)]
    return out.dev === err.dev && out.ino === err.ino
  } catch {
    return false
  }
}

/** The end of {@link maskChildOutput}: resolves once all output is written, or `ms` after this call. */
export interface Drain {
  within(ms: number): Promise<void>
}

/**
 * Copies the child's stdout and stderr to ours, masking `values`. Write errors (a closed pipe)
 * are ignored so that the child's output can still be drained.
 */
export function maskChildOutput(stdout: Readable, stderr: Readable, values: readonly string[]): Drain {
  const shared = sameDestination() ? new Masker(values) : undefined
  const streams = [
    { from: stdout, to: process.stdout, masker: shared ?? new Masker(values) },
    { from: stderr, to: shared ? process.stdout : process.stderr, masker: shared ?? new Masker(values) },
  ]
  let open = streams.length
  let finish: () => void = () => {}
  const finished = new Promise<void>((resolve) => {
    finish = resolve
  })
  const write = (to: Writable, bytes: Buffer): void => {
    if (bytes.length === 0) return
    try {
      to.write(bytes)
    } catch {
      // A destroyed destination: drop the output, keep draining the child.
    }
  }
  const flush = (): void => {
    for (const { to, masker } of shared ? [streams[0] as (typeof streams)[number]] : streams) write(to, masker.end())
    finish()
  }
  for (const { from, to, masker } of streams) {
    to.on('error', () => {})
    from.on('data', (chunk: Buffer) => write(to, masker.push(chunk)))
    from.on('end', () => {
      if (!shared) write(to, masker.end())
      if (--open === 0) (shared ? flush : finish)()
    })
  }
  return {
    within: (ms) => {
      const timer = setTimeout(() => {
        for (const { from } of streams) from.destroy()
        flush()
      }, ms)
      return finished.then(() => clearTimeout(timer))
    },
  }
}
