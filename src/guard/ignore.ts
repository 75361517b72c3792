/**
 * `.sstashguardignore`: the files whose findings are deliberate, in the subset of gitignore's
 * syntax people write: `#` comments, blank lines, `!` to re-include, a leading `/` (or a `/`
 * inside) to anchor a pattern at the file's folder, a trailing `/` for folders and what they
 * hold, `*` and `?` (not matching `/`), `**` as a whole segment (any number of folders) and
 * `[...]` classes, and `\` escaping the next character. As in git, the last matching pattern
 * wins. Pure. Patterns come from a committed file, so matching never backtracks: it is the
 * two-pointer wildcard match (time bounded by pattern length times path length), on segments
 * for `**` and on characters within a segment, never a regular expression a pattern could blow up.
 */

/** One token of a segment's pattern. */
type Token = { star: true } | { any: true } | { literal: string } | { set: string; negated: boolean }

/** A segment of a pattern: `**`, any one segment (a folder pattern's "something below"), or tokens. */
type Segment = 'globstar' | 'one' | Token[]

/** One pattern of the file, compiled. */
interface Rule {
  pattern: string
  negated: boolean
  segments: Segment[]
}

/** The patterns of one ignore file. */
export interface IgnoreRules {
  rules: Rule[]
}

function tokens(glob: string): Token[] {
  const out: Token[] = []
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string
    if (c === '\\' && i + 1 < glob.length) out.push({ literal: glob[++i] as string })
    else if (c === '*') {
      if (!('star' in (out.at(-1) ?? {}))) out.push({ star: true })
    } else if (c === '?') out.push({ any: true })
    else if (c === '[' && glob.indexOf(']', i + 2) > 0) {
      const close = glob.indexOf(']', i + 2)
      const body = glob.slice(i + 1, close)
      const negated = body.startsWith('!') || body.startsWith('^')
      out.push({ set: negated ? body.slice(1) : body, negated })
      i = close
    } else out.push({ literal: c })
  }
  return out
}

function inSet(set: string, c: string): boolean {
  for (let i = 0; i < set.length; i++) {
    const from = set[i] as string
    if (set[i + 1] === '-' && i + 2 < set.length) {
      if (c >= from && c <= (set[i + 2] as string)) return true
      i += 2
    } else if (c === from) return true
  }
  return false
}

const one = (token: Token, c: string): boolean =>
  'any' in token ? true : 'literal' in token ? token.literal === c : 'set' in token ? inSet(token.set, c) !== token.negated : false

/**
 * The two-pointer wildcard match: on a mismatch, the last star takes one more item and the
 * match resumes after it. `isStar` and `matches` say what a pattern item is and matches.
 */
function wildcard<P, T>(pattern: readonly P[], text: readonly T[], isStar: (p: P) => boolean, matches: (p: P, t: T) => boolean): boolean {
  let p = 0
  let t = 0
  let starP = -1
  let starT = 0
  while (t < text.length) {
    const item = pattern[p]
    if (item !== undefined && isStar(item)) {
      starP = p++
      starT = t
    } else if (item !== undefined && matches(item, text[t] as T)) {
      p++
      t++
    } else if (starP >= 0) {
      p = starP + 1
      t = ++starT
    } else return false
  }
  while (p < pattern.length && isStar(pattern[p] as P)) p++
  return p === pattern.length
}

const segmentMatches = (segment: Segment, name: string): boolean =>
  segment === 'one' || (segment !== 'globstar' && wildcard(segment, [...name], (t) => 'star' in t, one))

/**
 * Compiles the text of an ignore file.
 */
export function parseIgnore(text: string): IgnoreRules {
  const rules: Rule[] = []
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.replace(/(?<!\\)\s+$/, '')
    if (line === '' || line.startsWith('#')) continue
    const negated = line.startsWith('!')
    if (negated) line = line.slice(1)
    const folder = line.endsWith('/')
    if (folder) line = line.slice(0, -1)
    const anchored = line.includes('/')
    if (line.startsWith('/')) line = line.slice(1)
    if (line === '') continue
    const segments: Segment[] = line.split('/').map((s) => (s === '**' ? 'globstar' : tokens(s)))
    // Unanchored: at any depth. A folder pattern matches what is below it; any pattern also matches below a folder it names.
    rules.push({ pattern: raw.trim(), negated, segments: [...(anchored ? [] : ['globstar' as const]), ...segments, ...(folder ? ['one' as const] : []), 'globstar'] })
  }
  return { rules }
}

/**
 * The pattern that ignores `path` (relative to the ignore file's folder, `/`-separated), or
 * undefined when the file is not ignored.
 */
export function ignoredBy(rules: IgnoreRules, path: string): string | undefined {
  const names = path.split('/')
  let verdict: string | undefined
  for (const rule of rules.rules) if (wildcard(rule.segments, names, (s) => s === 'globstar', segmentMatches)) verdict = rule.negated ? undefined : rule.pattern
  return verdict
}
