/**
 * Reference files (`.env.sstash`): a committed `.env` whose values are either plain
 * configuration or references into the stash. Pure: text in, variables out; the stash is read
 * by the caller, once, for the keys {@link referenceKeys} lists.
 *
 *   PORT=3000                                  plain
 *   DATABASE_URL=sstash://project/db/URL       a reference to the key path project/db/URL
 *   API_TOKEN="sstash://project/api/TOKEN"     the same after dotenv's quoting rules
 *   DOCS=\sstash://not/a/reference             plain: the value sstash://not/a/reference
 *
 * The rules (docs/REFERENCES.md repeats them):
 *   - the file is read by `dotenv.parse`, so quoting, comments and `export` mean what they
 *     mean to dotenv; a later line wins over an earlier one with the same name;
 *   - a value that is exactly `sstash://` and a key path in the command line's spelling
 *     (see ../tree/key-path.ts) is a reference;
 *   - a value that only looks like one (it starts with `sstash:` in any case, after any
 *     whitespace, but is not exactly a reference) is an error naming the file and the variable.
 *     The file is committed and anyone who can push can write it: a typo must not turn a
 *     secret's reference into a plain string that the program then uses or logs;
 *   - a backslash before `sstash:` makes the value plain, and is removed: `\sstash://x` is the
 *     plain value `sstash://x`, `\\sstash://x` is `\sstash://x`. Nothing else is unescaped;
 *   - names must be portable variable names (`[A-Za-z_][A-Za-z0-9_]*`): they are exported as
 *     written, also to a shell. Names that let a value run code (see isDangerousName) are
 *     refused, plain or reference, unless allowed by name;
 *   - every problem of every file is reported at once, in one error, each line naming the file
 *     and the variable, never a value.
 */
import { SSError, type SSErrorCode } from '../errors.js'
import { formatKeyPath, parseKeyPath } from '../tree/key-path.js'
import { dotenvParse, dotenvQuote } from './dotenv.js'
import { isDangerousName } from './naming.js'

// Kept with the rest of the package.json field, which sstash-run reads without loading this module.
export { envFilesFromConfig } from './project-config.js'

/** What every reference starts with. */
export const REFERENCE_SCHEME = 'sstash://'

// The names sstash-run injects (the rule of naming.ts): POSIX portable names, safe in a shell.
const PORTABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
// A value that means to be a reference: `sstash:` in any case, after any whitespace.
const LOOKS_LIKE_REFERENCE = /^\s*sstash:/i
// The escape: one or more backslashes before what would look like a reference.
const ESCAPED_REFERENCE = /^\\+\s*sstash:/i
// Raw control characters: a key path writes them `\xHH`.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/
const WHITESPACE = /\s/u

/** A plain value of a reference file. */
export interface PlainEntry {
  kind: 'plain'
  name: string
  value: string
  /** The file it was read from, as given. */
  file: string
}

/** A reference of a reference file. */
export interface ReferenceEntry {
  kind: 'reference'
  name: string
  /** The key path it points to. */
  key: string[]
  file: string
}

/** One variable of a reference file. */
export type FileEntry = PlainEntry | ReferenceEntry

/** A parsed reference file: its variables in file order, each name once (the last line wins). */
export interface ReferenceFile {
  file: string
  entries: FileEntry[]
}

/** One problem with a reference file or a template: where, and why, never a value. */
export interface ReferenceProblem {
  /** `file: NAME` for a reference file, `file:line:column` for a template. */
  where: string
  /** The problem's own code (BAD_REFERENCE, DANGEROUS_ENV_NAME, KEY_NOT_FOUND, ...). */
  code: SSErrorCode
  /** Why, in words; names a key path at most. */
  reason: string
  /** The key path of a reference that did not resolve. */
  key?: string[]
}

/**
 * Every problem of a set of reference files or templates, found at once. The message has one
 * line per problem (`<where>: <reason>`); `problems` lists them for programs.
 */
export class SSReferenceError extends SSError {
  override name = 'SSReferenceError'
  readonly problems: readonly ReferenceProblem[]

  /**
   * @param problems - at least one
   * @param code - BAD_REFERENCE (the files are wrong), BAD_TEMPLATE or UNRESOLVED_REFERENCE (the stash lacks keys)
   */
  constructor(problems: readonly ReferenceProblem[], code: 'BAD_REFERENCE' | 'BAD_TEMPLATE' | 'UNRESOLVED_REFERENCE', hint?: string) {
    super(listProblems(problems), code, hint === undefined ? undefined : { hint })
    this.problems = problems
  }
}

/** The most problems an error's message lists one by one; all of them stay in `problems`. */
export const MAX_LISTED_PROBLEMS = 100

/** One line per problem, up to {@link MAX_LISTED_PROBLEMS}, then how many more there are. */
function listProblems(problems: readonly ReferenceProblem[]): string {
  const lines = problems.slice(0, MAX_LISTED_PROBLEMS).map((p) => `${p.where}: ${p.reason}`)
  const more = problems.length - lines.length
  if (more > 0) lines.push(`and ${more} more ${more === 1 ? 'problem' : 'problems'} like these`)
  return lines.join('\n')
}

/** The error for the problems of reference files; the hint on references only when one is about a reference. */
function badFiles(problems: readonly ReferenceProblem[]): SSReferenceError {
  const hint = problems.some((p) => p.code === 'BAD_REFERENCE')
    ? 'a reference is sstash:// and a key path, e.g. sstash://project/db/URL; write \\sstash: for a plain value that starts with sstash:'
    : undefined
  return new SSReferenceError(problems, 'BAD_REFERENCE', hint)
}

/** What a value of a reference file is. */
export type ValueKind = { kind: 'plain'; value: string } | { kind: 'reference'; key: string[] } | { kind: 'bad'; reason: string }

/**
 * Classifies one value (after dotenv's quoting rules) as plain, a reference, or a bad look-alike.
 * Also used for the inside of a template's placeholder.
 * @param value - the value as dotenv read it
 * @returns the plain value (with the escape removed), the key path, or why it is refused (a
 *   phrase such as "has no key path after sstash://", to follow "the value" or "the placeholder")
 */
export function classifyValue(value: string): ValueKind {
  if (ESCAPED_REFERENCE.test(value)) return { kind: 'plain', value: value.slice(1) }
  if (!LOOKS_LIKE_REFERENCE.test(value)) return { kind: 'plain', value }
  if (WHITESPACE.test(value[0] as string) || WHITESPACE.test(value.at(-1) as string))
    return { kind: 'bad', reason: 'looks like a reference but has whitespace around it (write \\x20 for a space that ends a key)' }
  if (!value.startsWith('sstash:')) return { kind: 'bad', reason: 'looks like a reference but its scheme is not lowercase sstash://' }
  if (!value.startsWith(REFERENCE_SCHEME)) return { kind: 'bad', reason: 'looks like a reference but does not start with sstash:// (two slashes)' }
  const text = value.slice(REFERENCE_SCHEME.length)
  if (CONTROL.test(text)) return { kind: 'bad', reason: 'has a line break or control character in its key path (write \\xHH)' }
  let key: string[]
  try {
    key = parseKeyPath(text)
  } catch (error) {
    if (!(error instanceof SSError)) throw error
    // parseKeyPath's message quotes the key path; the reason after it is enough.
    return { kind: 'bad', reason: `has a key path that does not parse: ${error.message.replace(/^invalid key path ".*": /s, '')}` }
  }
  if (key.length === 0) return { kind: 'bad', reason: 'has no key path after sstash://' }
  return { kind: 'reference', key }
}

/** How reference files are checked. */
export interface ReferenceOptions {
  /** Dangerous names (see isDangerousName) the user allows explicitly, as with `--allow`. */
  allow?: readonly string[]
}

/** Checks one name and value; returns the entry or adds to `problems`. */
function entryOf(file: string, name: string, value: string, allowed: ReadonlySet<string>, problems: ReferenceProblem[]): FileEntry | undefined {
  const where = `${file}: ${name}`
  const problem = (code: SSErrorCode, reason: string): undefined => {
    problems.push({ where, code, reason })
    return undefined
  }
  if (!PORTABLE_NAME.test(name)) return problem('BAD_ENV_NAME', 'is not a valid environment variable name (letters, digits and _, not starting with a digit)')
  if (isDangerousName(name) && !allowed.has(name.toUpperCase()))
    return problem('DANGEROUS_ENV_NAME', `can make programs run other code; pass --allow ${name} to set it anyway`)
  const kind = classifyValue(value)
  if (kind.kind === 'bad') return problem('BAD_REFERENCE', `the value ${kind.reason}`)
  if (kind.kind === 'reference') return { kind: 'reference', name, key: kind.key, file }
  if (kind.value.includes('\0')) return problem('BAD_ENV_VALUE', 'the value has a NUL byte, so it cannot be an environment variable')
  return { kind: 'plain', name, value: kind.value, file }
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Parses one reference file, checking every variable.
 * @param text - the file's contents (bytes must be UTF-8)
 * @param file - the file's name, for messages
 * @returns the variables in file order (each name once: the last line wins, as in dotenv)
 * @throws {SSReferenceError} BAD_REFERENCE listing every problem of the file at once
 */
export function parseReferenceFile(text: string | Uint8Array, file: string, options: ReferenceOptions = {}): ReferenceFile {
  let source: string
  try {
    source = typeof text === 'string' ? text : utf8.decode(text)
  } catch {
    throw new SSReferenceError([{ where: file, code: 'BAD_INPUT', reason: 'is not valid UTF-8' }], 'BAD_REFERENCE')
  }
  const allowed = new Set((options.allow ?? []).map((n) => n.toUpperCase()))
  const problems: ReferenceProblem[] = []
  const entries: FileEntry[] = []
  for (const [name, value] of Object.entries(dotenvParse(source))) {
    const entry = entryOf(file, name, value, allowed, problems)
    if (entry) entries.push(entry)
  }
  if (problems.length > 0) throw badFiles(problems)
  return { file, entries }
}

/**
 * Parses several reference files, reporting the problems of all of them in one error.
 * @param files - name and contents of each file
 * @throws {SSReferenceError} BAD_REFERENCE
 */
export function parseReferenceFiles(files: readonly { file: string; text: string | Uint8Array }[], options: ReferenceOptions = {}): ReferenceFile[] {
  const problems: ReferenceProblem[] = []
  const parsed: ReferenceFile[] = []
  for (const { file, text } of files) {
    try {
      parsed.push(parseReferenceFile(text, file, options))
    } catch (error) {
      if (!(error instanceof SSReferenceError)) throw error
      problems.push(...error.problems)
    }
  }
  if (problems.length > 0) throw badFiles(problems)
  return parsed
}

/**
 * Merges reference files: a later file wins on the same name.
 * @returns each name once, in first-seen order, with the last file's entry
 */
export function mergeReferenceFiles(files: readonly ReferenceFile[]): FileEntry[] {
  const merged = new Map<string, FileEntry>()
  for (const { entries } of files) for (const entry of entries) merged.set(entry.name, entry)
  return [...merged.values()]
}

/**
 * The key paths the references point to, each once: what to ask readStash for, so that the
 * agent sends these values and nothing else.
 */
export function referenceKeys(entries: readonly FileEntry[]): string[][] {
  const keys = new Map<string, string[]>()
  for (const e of entries) if (e.kind === 'reference') keys.set(formatKeyPath(e.key), e.key)
  return [...keys.values()]
}

/**
 * Writes a reference: `sstash://` and the key path in the command line's spelling, with `#` and
 * whitespace at the end spelled `\xHH` too, so that the value can stay bare (unquoted) in a
 * file and reads back as the same key path. A key path whose last character is whitespace
 * above U+00FF has no such spelling; its reference ends in that character and is refused on reading.
 */
export function formatReference(key: readonly string[]): string {
  let text = formatKeyPath(key).replace(/#/g, '\\x23')
  let tail = ''
  while (text.length > 0 && WHITESPACE.test(text.at(-1) as string)) {
    const c = text.at(-1) as string
    if (c.charCodeAt(0) > 0xff) break
    tail = `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}${tail}`
    text = text.slice(0, -1)
  }
  return `${REFERENCE_SCHEME}${text}${tail}`
}

/** A plain value as a reference file spells it: with the escape when it would look like a reference. */
function escapePlain(value: string): string {
  return LOOKS_LIKE_REFERENCE.test(value) || ESCAPED_REFERENCE.test(value) ? `\\${value}` : value
}

/** A variable to write into a reference file: a plain value or a key path. */
export type EntryToWrite = { name: string; value: string } | { name: string; key: readonly string[] }

/**
 * Writes a reference file that {@link parseReferenceFile} reads back to exactly these entries.
 * A plain value that would look like a reference is written with its escape.
 * @param entries - names must be unique
 * @throws {SSReferenceError} BAD_REFERENCE for entries that cannot be written (a bad or dangerous
 *   name, a value dotenv cannot read back, a key path ending in an unusual space), all at once
 */
export function formatReferenceFile(entries: readonly EntryToWrite[], options: ReferenceOptions = {}): string {
  const problems: ReferenceProblem[] = []
  let out = ''
  for (const entry of entries) {
    const spelled = dotenvQuote('key' in entry ? formatReference(entry.key) : escapePlain(entry.value))
    if (spelled === undefined) problems.push({ where: entry.name, code: 'NOT_REPRESENTABLE', reason: 'has a value that dotenv cannot read back exactly' })
    else out += `${entry.name}=${spelled}\n`
  }
  if (problems.length > 0) throw badFiles(problems)
  // As formatDotenv does: the file is read back before it is returned, so a file that would
  // not mean the same is never written.
  const back = parseReferenceFile(out, 'the reference file', options).entries
  const same = back.length === entries.length && back.every((b, i) => {
    const e = entries[i] as EntryToWrite
    return b.name === e.name && ('key' in e ? b.kind === 'reference' && formatKeyPath(b.key) === formatKeyPath(e.key) : b.kind === 'plain' && b.value === e.value)
  })
  if (!same) throw new SSReferenceError(entries.map((e) => ({ where: e.name, code: 'NOT_REPRESENTABLE' as const, reason: 'does not read back exactly' })), 'BAD_REFERENCE')
  return out
}

/**
 * The reference file for variables imported below `base` (`sstash import --write-refs`):
 * each name points to `base/NAME`.
 * @param base - the key path given to `--into`
 * @param names - the imported names, in file order
 * @throws as {@link formatReferenceFile}
 */
export function referencesForImport(base: readonly string[], names: readonly string[], options: ReferenceOptions = {}): string {
  return formatReferenceFile(names.map((name) => ({ name, key: [...base, name] })), options)
}
