/**
 * Environment variables from stash subtrees. Pure: nothing here reads or writes process.env.
 *
 * The naming rule (docs/RUN.md repeats it), for a value at a key path below a selected one:
 *   - a value directly below the selected key path is named by its own segment, exactly as
 *     written, when that segment is a name dotenv loads (ASCII letters, digits, `_`, `-`, `.`):
 *     `http_proxy`, `nextAuthSecret` and `KEY-WITH-DASH` stay what they were in the .env;
 *   - a value deeper down (`db/host`), or one whose segment holds any other character
 *     (`my key`, `café`), is named by its key path relative to the selected one: segments
 *     joined with `_`, ASCII letters and digits and `_` kept, every other character (each
 *     code point) made `_`: `db/host` is db_host, `DB/HOST` is DB_HOST;
 *   - at every depth the case is the key path's, never changed: `-k prod` and `-k prod/db`
 *     name `prod/db/PASSWORD` DB_PASSWORD and PASSWORD, `prod/db/password` db_password and
 *     password (one rule, so that moving -k down a level changes no letter's case);
 *   - a value stored AT the selected key path itself is named by its last segment, as above;
 *   - the prefix (`--prefix`, `[A-Za-z0-9_]*`) is prepended as given;
 *   - the result must start with a letter or `_` (so `1password` needs a prefix).
 *
 *   -k project/myapp:  http_proxy -> http_proxy   DB/HOST -> DB_HOST   db/host -> db_host   s3.bucket/name -> s3_bucket_name
 *
 * Two key paths of one subtree that give the same name are an error naming both; across
 * subtrees the later selection wins. Values must be UTF-8 without NUL (the environment is
 * C strings). Names that let a value run code in the child (./dangerous-names.ts) are refused
 * unless allowed by name. Every problem of a selection is reported at once, in one error whose
 * `details` hold the problems after the first. Errors name the key path, never the value.
 */
import { SSError, SSKeyError, type SSErrorCode } from '../errors.js'
import { formatKeyPath } from '../tree/key-path.js'
import type { Entry } from '../tree/tree.js'
import { dangerousFamily } from './dangerous-names.js'

export { isDangerousName } from './dangerous-names.js'

/** A segment kept as written: the characters of a name dotenv loads. */
const WRITTEN_NAME = /^[A-Za-z0-9_.-]+$/

/** What a final name must be: a name dotenv loads, not starting with a digit, `-` or `.`. */
const VALID_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/

/** What a prefix may contain: the characters of a shell variable name. */
const VALID_PREFIX = /^[A-Za-z0-9_]*$/

/** One environment variable made from a stash value. */
export interface EnvVar {
  name: string
  value: string
  /** The full key path the value came from (for messages and masking). */
  key: string[]
}

/** How {@link envFromEntries} names and checks variables. */
export interface EnvOptions {
  /** Prepended to every name as given (default ''). Only `[A-Za-z0-9_]`. */
  prefix?: string
  /** Refused names (see ./dangerous-names.ts) the user allows explicitly, compared without case. */
  allow?: readonly string[]
}

/** A named value before it is checked: where it came from and its bytes. */
export interface Candidate {
  name: string
  key: readonly string[]
  value: Uint8Array
}

/** Maps one key segment to its part of a derived name: ASCII letters (in their case), digits and `_` kept, anything else `_`. */
export function segmentToName(segment: string): string {
  let out = ''
  // for..of walks code points, so one astral character becomes one `_`.
  for (const c of segment) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c === '_') out += c
    else out += '_'
  }
  return out
}

/**
 * The variable name of a value at `key` below the selected `base`, before any prefix.
 * @param base - the selected key path
 * @param key - a key path at or below `base`
 * @returns the segment as written when it is one dotenv name, else the relative segments
 *   mapped by {@link segmentToName} and joined with `_`
 */
export function relativeName(base: readonly string[], key: readonly string[]): string {
  const rel = key.length > base.length ? key.slice(base.length) : key.slice(-1)
  if (rel.length === 1 && WRITTEN_NAME.test(rel[0] as string)) return rel[0] as string
  return rel.map(segmentToName).join('_')
}

/**
 * Checks a prefix given with `--prefix`.
 * @throws {SSError} BAD_ENV_PREFIX
 */
export function checkPrefix(prefix: string): void {
  if (!VALID_PREFIX.test(prefix))
    throw new SSError(`invalid prefix ${JSON.stringify(prefix)}: only letters, digits and _ are allowed`, 'BAD_ENV_PREFIX')
}

/** What is wrong with a name, as {@link nameProblem} says it. */
export interface NameProblem {
  code: SSErrorCode
  /** Follows the name in a sentence: ", which starts with a digit". */
  clause: string
  /** What to do: "add a prefix with --prefix". */
  fix: string
}

/**
 * Why sstash-run would refuse the variable name `name`, or undefined when it takes it.
 * @param allowed - upper-cased names allowed despite their family
 */
export function nameProblem(name: string, allowed: ReadonlySet<string> = new Set()): NameProblem | undefined {
  const fix = 'give it a --prefix'
  if (name === '') return { code: 'BAD_ENV_NAME', clause: ', which is empty', fix }
  if (!VALID_NAME.test(name)) {
    const first = name[0] as string
    return { code: 'BAD_ENV_NAME', clause: `, which starts with ${first >= '0' && first <= '9' ? 'a digit' : JSON.stringify(first)}`, fix }
  }
  const family = dangerousFamily(name)
  if (family && !allowed.has(name.toUpperCase()))
    return { code: 'DANGEROUS_ENV_NAME', clause: `, one of ${family.label}, which can make programs run other code`, fix: `pass --allow ${name} to inject it anyway` }
  return undefined
}

/** The message for a key whose name is refused. */
function refusal(key: readonly string[], name: string, problem: NameProblem): Problem {
  const shown = formatKeyPath(key)
  if (problem.code === 'DANGEROUS_ENV_NAME')
    return { code: problem.code, key, message: `key ${shown} gives the variable ${name}${problem.clause}; ${problem.fix}`, hint: 'docs/RUN.md lists the refused families and why' }
  const message = name === '' ? `key ${shown} gives an empty variable name` : `key ${shown} gives the variable name ${name}${problem.clause}`
  return { code: problem.code, key, message, hint: 'a --prefix (or "prefix" in package.json) makes the name start with a letter' }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Decodes a value for the environment.
 * @throws {SSKeyError} BAD_ENV_VALUE naming the key path (never the value)
 */
export function envValue(key: readonly string[], bytes: Uint8Array): string {
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch (error) {
    throw new SSKeyError(`key ${formatKeyPath(key)} is not valid UTF-8, so it cannot be an environment variable`, key, 'BAD_ENV_VALUE', { cause: error })
  }
  if (text.includes('\0'))
    throw new SSKeyError(`key ${formatKeyPath(key)} contains a NUL byte, so it cannot be an environment variable`, key, 'BAD_ENV_VALUE')
  return text
}

/**
 * Names the values of one selected subtree (no checks yet).
 * @param base - the selected key path
 * @param entries - the values at or below `base` (as {@link Tree.entries} returns them)
 */
export function namesOfEntries(base: readonly string[], entries: readonly Entry[], prefix = ''): Candidate[] {
  return entries.map(({ key, value }) => ({ name: prefix + relativeName(base, key), key, value }))
}

interface Problem {
  code: SSErrorCode
  key: readonly string[]
  message: string
  hint?: string
}

/**
 * Checks and merges groups of named values: within a group two keys may not give one name;
 * across groups the later group wins. Every problem is collected before anything is thrown.
 * @param groups - one group per source (a selected subtree; later, a reference file)
 * @returns name to variable, in first-seen order
 * @throws {SSKeyError} BAD_ENV_NAME, ENV_NAME_COLLISION, DANGEROUS_ENV_NAME, BAD_ENV_VALUE: the
 *   first problem, with the others in `details`
 */
export function mergeCandidates(groups: readonly (readonly Candidate[])[], options: Pick<EnvOptions, 'allow'> = {}): Map<string, EnvVar> {
  const allowed = new Set((options.allow ?? []).map((n) => n.toUpperCase()))
  const problems: Problem[] = []
  const merged = new Map<string, EnvVar>()
  for (const group of groups) {
    const seen = new Map<string, readonly string[]>()
    for (const { name, key, value } of group) {
      const shown = formatKeyPath(key)
      const other = seen.get(name)
      if (other) {
        problems.push({ code: 'ENV_NAME_COLLISION', key, message: `keys ${formatKeyPath(other)} and ${shown} both give the variable ${name}` })
        continue
      }
      seen.set(name, key)
      const problem = nameProblem(name, allowed)
      if (problem) {
        problems.push(refusal(key, name, problem))
        continue
      }
      try {
        merged.set(name, { name, value: envValue(key, value), key: [...key] })
      } catch (error) {
        if (!(error instanceof SSKeyError)) throw error
        problems.push({ code: error.code, key, message: error.message })
      }
    }
  }
  const first = problems[0]
  if (first) {
    const hints = [...new Set(problems.flatMap((p) => (p.hint === undefined ? [] : [p.hint])))]
    throw new SSKeyError(first.message, first.key, first.code, {
      details: problems.slice(1).map((p) => p.message),
      ...(hints.length > 0 ? { hint: hints.join('; ') } : {}),
    })
  }
  return merged
}

/**
 * Turns the values of one selected subtree into variables.
 * @param base - the selected key path
 * @param entries - the values at or below `base` (as {@link Tree.entries} returns them)
 * @param options - prefix and allowed names
 * @returns one variable per entry, in entry order
 * @throws as {@link mergeCandidates}; {@link SSError} BAD_ENV_PREFIX
 */
export function envFromEntries(base: readonly string[], entries: readonly Entry[], options: EnvOptions = {}): EnvVar[] {
  return [...envFromSelections([{ base, entries }], options).values()]
}

/** One selected subtree with its values. */
export interface SelectedSubtree {
  base: readonly string[]
  entries: readonly Entry[]
}

/**
 * Merges several selected subtrees; a later selection wins on the same name.
 * @returns name to variable, in first-seen order
 * @throws as {@link mergeCandidates}; {@link SSError} BAD_ENV_PREFIX
 */
export function envFromSelections(selections: readonly SelectedSubtree[], options: EnvOptions = {}): Map<string, EnvVar> {
  const prefix = options.prefix ?? ''
  checkPrefix(prefix)
  return mergeCandidates(
    selections.map(({ base, entries }) => namesOfEntries(base, entries, prefix)),
    options,
  )
}

/** How {@link childEnv} combines the environments. */
export interface MergeOptions {
  /** Let the stash win over variables already set (default: the existing environment wins, as dotenv does). */
  override?: boolean
  /** Variables removed from the child's environment whatever the stash holds (the password variables). */
  remove?: readonly string[]
}

/**
 * The child's environment: `base` minus `options.remove`, plus the stash's variables.
 * @returns the environment and the variables actually injected (what `--mask` hides)
 */
export function childEnv(
  base: Readonly<Record<string, string | undefined>>,
  vars: ReadonlyMap<string, EnvVar>,
  options: MergeOptions = {},
): { env: Record<string, string>; injected: EnvVar[] } {
  const env: Record<string, string> = Object.create(null) as Record<string, string>
  const remove = new Set(options.remove ?? [])
  for (const [k, v] of Object.entries(base)) if (v !== undefined && !remove.has(k)) env[k] = v
  const injected: EnvVar[] = []
  for (const v of vars.values()) {
    if (!options.override && Object.hasOwn(env, v.name)) continue
    env[v.name] = v.value
    injected.push(v)
  }
  return { env, injected }
}
