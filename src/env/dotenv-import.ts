/**
 * `sstash import` of a .env file: what goes into the stash, and everything the user should hear
 * about it, all at once. Pure: text and an environment in, variables and notes out.
 *
 * The variables are exactly what `dotenv.parse` gives. The notes:
 *   - the lines dotenv ignored (`FOO BAR`), by line number only (a line may hold a secret);
 *   - names set more than once, and which line won (the last, as in dotenv);
 *   - names sstash-run will refuse (a leading digit, a name that can run code) or rename;
 *   - values holding `${VAR}` or `$VAR` references, which are stored as written unless `expand`.
 *
 * Expansion (`--expand`) follows dotenv-expand, which `dotenv run` and dotenv-cli use: `${A}`,
 * `$A`, `${A:-default}`, `${A-default}`, `${A:+alt}`, `${A+alt}`, `\$` for a literal `$`.
 * References resolve to the file's own variables first (a file is imported as written, whatever
 * the importing shell has set under the same names), then to the importing environment. It
 * happens at import, never at run: sstash-run passes every stored value through untouched, so a
 * password holding `$` arrives intact. A loop of references (`A=$A-more`), which dotenv-expand
 * would grow until memory runs out, is refused before anything is written. A value is put in
 * place as written, even one holding `$&` or `$$`, which dotenv-expand reads as replacement
 * patterns (see expand.ts).
 */
import { SSError } from '../errors.js'
import { withoutSecrets } from './secret-variables.js'
import { dotenvParse } from './dotenv.js'
import { OPERATOR, REFERENCE, expandInPlace } from './expand.js'
import { nameProblem, relativeName } from './naming.js'

/**
 * dotenv's own line pattern (LINE in dotenv's main.js, `/(?:^|^)\s*(?:export\s+)?([\w.-]+).../mg`)
 * without its leading `(?:^|^)\s*`, to tell which lines dotenv used. {@link assignments} finds
 * the line starts and skips the blanks itself: the regex engine, trying that `\s*` from every
 * line start of a run of blank lines to its end, took quadratic time.
 */
const AFTER_BLANKS = /(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/my
const BLANKS = /\s*/y
// What ends a line for a regex with the m flag.
const LINE_BREAKS = /[\n\r\u2028\u2029]/g
const isLineBreak = (c: number): boolean => c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029

/** {@link REFERENCE} without the g flag: whether a value holds one, without listing them all. */
const ONE_REFERENCE = new RegExp(REFERENCE.source)

/** What {@link importDotenv} needs besides the text. */
export interface DotenvImportOptions {
  /** The key path the variables go below (for the names sstash-run will give them). */
  into: readonly string[]
  /** Expand references with dotenv-expand's rules. */
  expand?: boolean
  /** The environment references may name (default process.env; the password variables never). */
  env?: Readonly<Record<string, string | undefined>>
}

/** The variables to store, and the notes to print. */
export interface DotenvImport {
  vars: Map<string, string>
  /** One line each, ready for `sstash: warning: `. */
  notes: string[]
}

/** The most items a note names; a file of a million bad lines gets a note of one line. */
const LISTED = 20
const list = (items: readonly (string | number)[]): string => {
  if (items.length > LISTED) return `${items.slice(0, LISTED).join(', ')} and ${items.length - LISTED} more`
  return items.length === 1 ? String(items[0]) : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`
}

/**
 * The name and the 1-based first and last line of each assignment dotenv's pattern reads, in
 * order, in linear time (exported for the test that holds it to dotenv's own pattern).
 * @param text - the file with its line endings made `\n`, as dotenv makes them
 */
export function assignments(text: string): { name: string; line: number; lastLine: number }[] {
  const out: { name: string; line: number; lastLine: number }[] = []
  const starts = [0]
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1)
  // The 1-based line holding `offset`: the last line start at or before it (binary search).
  const lineAt = (offset: number): number => {
    let [lo, hi] = [0, starts.length - 1]
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if ((starts[mid] as number) <= offset) lo = mid
      else hi = mid - 1
    }
    return lo + 1
  }
  // The first line start (0, or just after a line break) at or after `from`.
  const lineStartFrom = (from: number): number => {
    if (from > text.length) return -1
    if (from === 0 || isLineBreak(text.charCodeAt(from - 1))) return from
    LINE_BREAKS.lastIndex = from
    const found = LINE_BREAKS.exec(text)
    return found ? found.index + 1 : -1
  }
  for (let start = 0; start !== -1 && start <= text.length; ) {
    // Every line start of a run of blanks skips to the same place, so the run is tried once.
    BLANKS.lastIndex = start
    BLANKS.exec(text)
    const at = BLANKS.lastIndex
    AFTER_BLANKS.lastIndex = at
    const match = AFTER_BLANKS.exec(text)
    if (match) out.push({ name: match[1] as string, line: lineAt(at), lastLine: lineAt(at + match[0].trimEnd().length) })
    start = match ? lineStartFrom(at + match[0].length) : lineStartFrom(at + 1)
  }
  return out
}

/** Notes on the lines: ignored ones and duplicated names; none when our reading of dotenv's pattern disagrees with dotenv. */
function lineNotes(text: string, vars: ReadonlyMap<string, string>): string[] {
  const normalized = text.replace(/\r\n?/g, '\n')
  const found = assignments(normalized)
  // Should dotenv's pattern ever change under us, say nothing rather than something wrong.
  if (new Set(found.map((a) => a.name)).size !== vars.size || found.some((a) => !vars.has(a.name))) return []
  const lineTexts = normalized.split('\n')
  const used = new Uint8Array(lineTexts.length + 2)
  for (const a of found) used.fill(1, a.line, a.lastLine + 1)
  const ignored: number[] = []
  lineTexts.forEach((line, i) => {
    if (used[i + 1] === 1) return
    const trimmed = line.trim()
    if (trimmed !== '' && !trimmed.startsWith('#')) ignored.push(i + 1)
  })
  const notes: string[] = []
  if (ignored.length > 0) notes.push(`${ignored.length === 1 ? 'line' : 'lines'} ${list(ignored)} ${ignored.length === 1 ? 'is' : 'are'} not NAME=value: dotenv ignores ${ignored.length === 1 ? 'it' : 'them'}, so nothing was imported from ${ignored.length === 1 ? 'it' : 'them'}`)
  const lines = new Map<string, number[]>()
  for (const a of found) {
    const at = lines.get(a.name)
    if (at) at.push(a.line)
    else lines.set(a.name, [a.line])
  }
  for (const [name, at] of lines)
    if (at.length > 1) notes.push(`${name} is set on lines ${list(at)}: the value of line ${at.at(-1)} was imported, as dotenv reads it`)
  return notes
}

/** Notes on the names: those sstash-run will refuse or rename. */
function nameNotes(vars: ReadonlyMap<string, string>, into: readonly string[]): string[] {
  const notes: string[] = []
  for (const name of vars.keys()) {
    const given = relativeName(into, [...into, name])
    if (given !== name) notes.push(`${name} will reach the command as ${given}`)
    const problem = nameProblem(given)
    if (problem) notes.push(`sstash-run will refuse ${given}${problem.clause} (${problem.fix})`)
  }
  return notes
}

/** The names a value refers to with `${NAME...}` or `$NAME`. */
export function referencesOf(value: string): string[] {
  return [...value.matchAll(REFERENCE)].map((m) => (m[2] ?? (m[1] as string).split(OPERATOR)[0]) as string)
}

/** Every name a value may pull in when expanded: the references and those in their defaults. */
function reachable(value: string): string[] {
  return [...referencesOf(value), ...[...value.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] as string)]
}

/**
 * A loop of references among the file's variables (`A=$A-more`, or A to B to A), as names from
 * its start back to it, or undefined. dotenv-expand grows such a value without end (dotenv run
 * then runs out of memory), so sstash import refuses to expand one.
 */
function referenceLoop(vars: ReadonlyMap<string, string>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>()
  const visit = (name: string, path: string[]): string[] | undefined => {
    if (state.get(name) === 'done') return undefined
    if (state.get(name) === 'open') return [...path.slice(path.indexOf(name)), name]
    state.set(name, 'open')
    for (const next of reachable(vars.get(name) ?? '')) {
      if (!vars.has(next)) continue
      const loop = visit(next, [...path, name])
      if (loop) return loop
    }
    state.set(name, 'done')
    return undefined
  }
  for (const name of vars.keys()) {
    const loop = visit(name, [])
    if (loop) return loop
  }
  return undefined
}

/** What `--expand` takes: dotenv-expand's time grows with the square of each (see below). */
export const EXPAND_LIMITS = { variables: 1000, referencesPerValue: 100, expandedBytes: 1024 * 1024 } as const

/**
 * Refuses to expand a file dotenv-expand would take minutes over, or grow without measure:
 * it copies the whole environment for every variable and rescans a value from its start after
 * each reference (3,000 variables took 46 s), and `B=$A$A`, `C=$B$B`, ... doubles at each line.
 * Every real .env is far below these limits. Without `--expand` there is no limit.
 * @throws {SSError} BAD_INPUT naming the limit
 */
function checkExpansionSize(vars: ReadonlyMap<string, string>, env: Readonly<Record<string, string | undefined>>): void {
  const refuse = (what: string): never => {
    throw new SSError(`cannot expand this file: ${what}`, 'BAD_INPUT', { hint: 'import without --expand to store the values as written' })
  }
  if (vars.size > EXPAND_LIMITS.variables) refuse(`it has ${vars.size} variables, more than the ${EXPAND_LIMITS.variables} --expand takes`)
  const refs = new Map<string, string[]>()
  for (const [name, value] of vars) {
    // Counted lazily: a value of a million references is refused after the first hundred.
    let count = 0
    for (const _ of value.matchAll(/\$/g)) if (++count > 2 * EXPAND_LIMITS.referencesPerValue) break
    const found = count > 2 * EXPAND_LIMITS.referencesPerValue ? undefined : reachable(value)
    if (found === undefined || found.length > EXPAND_LIMITS.referencesPerValue)
      return refuse(`${name} holds more than the ${EXPAND_LIMITS.referencesPerValue} references --expand takes in one value`)
    refs.set(name, found)
  }
  // An upper bound of each expanded length (a loop is refused later; until then it counts once).
  const bound = new Map<string, number>()
  const sizeOf = (name: string): number => {
    const known = bound.get(name)
    if (known !== undefined) return known
    bound.set(name, 0)
    let size = (vars.get(name) ?? '').length
    for (const ref of refs.get(name) ?? []) size += vars.has(ref) ? sizeOf(ref) : (env[ref] ?? '').length
    bound.set(name, Math.min(size, Number.MAX_SAFE_INTEGER))
    return size
  }
  let total = 0
  for (const name of vars.keys()) total += sizeOf(name)
  if (total > EXPAND_LIMITS.expandedBytes) refuse(`its values would expand to more than ${EXPAND_LIMITS.expandedBytes / 1024 / 1024} MiB`)
}

/**
 * Reads a .env file for `sstash import`.
 * @param text - the file's contents
 * @returns the variables (dotenv.parse's, expanded when asked) and the notes to print
 * @throws {SSError} BAD_INPUT for a loop of references, or a file over {@link EXPAND_LIMITS}, with `expand`
 */
export function importDotenv(text: string, options: DotenvImportOptions): DotenvImport {
  const parsed = new Map(Object.entries(dotenvParse(text)))
  const notes = [...lineNotes(text, parsed), ...nameNotes(parsed, options.into)]
  const referring = [...parsed].filter(([, value]) => ONE_REFERENCE.test(value)).map(([name]) => name)
  if (!options.expand) {
    if (referring.length > 0)
      notes.push(`${list(referring)} ${referring.length === 1 ? 'holds' : 'hold'} \${...} references, stored as written: sstash-run does not expand them (import with --expand to expand them as dotenv run does)`)
    return { vars: parsed, notes }
  }
  checkExpansionSize(parsed, options.env ?? process.env)
  const loop = referenceLoop(parsed)
  if (loop)
    throw new SSError(`cannot expand ${loop[0]}: it refers to itself${loop.length > 2 ? ` through ${loop.slice(1, -1).join(', ')}` : ''}`, 'BAD_INPUT', {
      hint: 'import without --expand to store the values as written, or break the loop in the file',
    })
  // As dotenv-cli does: the file's variables join the environment (the file winning here), and
  // dotenv-expand runs over that one object, so a reference may also name a later variable.
  // Variables of the environment that hold a `$` are left out: expanding them (as dotenv-cli
  // does, over all of process.env) could loop, and a .env has no business with them.
  const outside = Object.entries(withoutSecrets(options.env ?? process.env)).filter(([, value]) => !value.includes('$'))
  const all: Record<string, string> = { ...Object.fromEntries(outside), ...Object.fromEntries(parsed) }
  const missing = [...new Set(referring.flatMap((name) => referencesOf(parsed.get(name) ?? '')))].filter((ref) => all[ref] === undefined)
  expandInPlace(all)
  if (missing.length > 0) notes.push(`${list(missing)} ${missing.length === 1 ? 'is' : 'are'} neither in the file nor set: expanded to the empty string or the default given`)
  return { vars: new Map([...parsed.keys()].map((name) => [name, all[name] as string])), notes }
}
