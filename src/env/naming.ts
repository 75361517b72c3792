/**
 * Environment variables from stash subtrees. Pure: nothing here reads or writes process.env.
 *
 * The naming rule (the README repeats it):
 *   - every value at or below a selected key path becomes one variable;
 *   - its name is its key path relative to the selected path, segments joined with `_`
 *     (a value stored AT the selected path itself is named by its own last segment);
 *   - ASCII letters are upper-cased, ASCII digits and `_` are kept, every other character
 *     (each Unicode code point: `.`, `-`, space, `é`, ...) becomes one `_`;
 *   - the prefix (`--prefix`) is prepended as given;
 *   - the result must match `^[A-Za-z_][A-Za-z0-9_]*$` (so `1password/x` needs a prefix).
 *
 *   project/myapp  +  db/host          DB_HOST
 *   project/myapp  +  api-key          API_KEY
 *   project/myapp  +  s3.bucket/name   S3_BUCKET_NAME
 *
 * Two key paths of one subtree that give the same name are an error naming both; across
 * subtrees the later selection wins. Values must be UTF-8 without NUL (the environment is
 * C strings). Names that let a value run code in the child (LD_PRELOAD, NODE_OPTIONS, ...)
 * are refused unless allowed by name. Errors name the key path, never the value.
 */
import { SSError, SSKeyError } from '../errors.js'
import { formatKeyPath } from '../tree/key-path.js'
import type { Entry } from '../tree/tree.js'
import { SECRET_ENV_VARS } from '../unlock/secret-variables.js'

/** A variable name the environment accepts everywhere (POSIX portable names). */
const VALID_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** What a prefix may contain: the characters of a valid name. */
const VALID_PREFIX = /^[A-Za-z0-9_]*$/

/**
 * Names through which a value can make the child (or the programs it starts) load or run
 * code of the value's choosing: dynamic loader, language runtime and shell start-up hooks.
 * Matched case-insensitively, as Windows would.
 */
export const DANGEROUS_NAMES: readonly string[] = [
  'NODE_OPTIONS', 'NODE_PATH', 'NODE_REPL_EXTERNAL_MODULE',
  'BASH_ENV', 'ENV', 'SHELLOPTS', 'BASHOPTS', 'PS4', 'PROMPT_COMMAND', 'IFS', 'PATH',
  'PYTHONPATH', 'PYTHONHOME', 'PYTHONSTARTUP', 'PYTHONINSPECT', 'PYTHONBREAKPOINT',
  'PERL5OPT', 'PERL5LIB', 'PERLLIB', 'PERL5DB',
  'RUBYOPT', 'RUBYLIB',
  'JAVA_TOOL_OPTIONS', '_JAVA_OPTIONS', 'JDK_JAVA_OPTIONS',
  'GCONV_PATH', 'GLIBC_TUNABLES', 'MALLOC_CHECK_', 'HOSTALIASES', 'RES_OPTIONS', 'LOCALDOMAIN',
  'GIT_SSH', 'GIT_SSH_COMMAND', 'GIT_EXEC_PATH', 'GIT_ASKPASS', 'SSH_ASKPASS', 'GIT_CONFIG_PARAMETERS',
  ...SECRET_ENV_VARS,
]

/** Prefixes of whole families of dangerous names (the glibc and macOS dynamic loaders). */
export const DANGEROUS_PREFIXES: readonly string[] = ['LD_', 'DYLD_']

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
  /** Dangerous names (see {@link DANGEROUS_NAMES}) the user allows explicitly. */
  allow?: readonly string[]
}

/** Maps one key segment to its part of a name: ASCII letters upper-cased, other non-[A-Z0-9_] to `_`. */
export function segmentToName(segment: string): string {
  let out = ''
  // for..of walks code points, so one astral character becomes one `_`.
  for (const c of segment) {
    if (c >= 'a' && c <= 'z') out += c.toUpperCase()
    else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c === '_') out += c
    else out += '_'
  }
  return out
}

/**
 * The variable name of a value at `key` below the selected `base`, before any prefix.
 * @param base - the selected key path
 * @param key - a key path at or below `base`
 * @returns the relative segments mapped by {@link segmentToName} and joined with `_`
 */
export function relativeName(base: readonly string[], key: readonly string[]): string {
  const rel = key.length > base.length ? key.slice(base.length) : key.slice(-1)
  return rel.map(segmentToName).join('_')
}

/** True when `name` may only be injected with explicit permission. */
export function isDangerousName(name: string): boolean {
  const upper = name.toUpperCase()
  return DANGEROUS_NAMES.includes(upper) || DANGEROUS_PREFIXES.some((p) => upper.startsWith(p))
}

/**
 * Checks a prefix given with `--prefix`.
 * @throws {SSError} BAD_ENV_PREFIX
 */
export function checkPrefix(prefix: string): void {
  if (!VALID_PREFIX.test(prefix))
    throw new SSError(`invalid prefix ${JSON.stringify(prefix)}: only letters, digits and _ are allowed`, 'BAD_ENV_PREFIX')
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
 * Turns the values of one selected subtree into variables.
 * @param base - the selected key path
 * @param entries - the values at or below `base` (as {@link Tree.entries} returns them)
 * @param options - prefix and allowed dangerous names
 * @returns one variable per entry, in entry order
 * @throws {SSKeyError} BAD_ENV_NAME, ENV_NAME_COLLISION, DANGEROUS_ENV_NAME, BAD_ENV_VALUE, naming key paths
 * @throws {SSError} BAD_ENV_PREFIX
 */
export function envFromEntries(base: readonly string[], entries: readonly Entry[], options: EnvOptions = {}): EnvVar[] {
  const prefix = options.prefix ?? ''
  checkPrefix(prefix)
  const allowed = new Set((options.allow ?? []).map((n) => n.toUpperCase()))
  const seen = new Map<string, string[]>()
  const out: EnvVar[] = []
  for (const { key, value } of entries) {
    const name = prefix + relativeName(base, key)
    const shown = formatKeyPath(key)
    if (!VALID_NAME.test(name)) {
      const why = name === '' ? 'an empty name' : /^[0-9]/.test(name) ? `${name}, which starts with a digit (add a --prefix)` : name
      throw new SSKeyError(`key ${shown} gives the variable name ${why}, which is not a valid environment variable name`, key, 'BAD_ENV_NAME')
    }
    const other = seen.get(name)
    if (other)
      throw new SSKeyError(`keys ${formatKeyPath(other)} and ${shown} both give the variable ${name}`, key, 'ENV_NAME_COLLISION')
    seen.set(name, key)
    if (isDangerousName(name) && !allowed.has(name.toUpperCase()))
      throw new SSKeyError(`key ${shown} gives the variable ${name}, which can make programs run other code; pass --allow ${name} to inject it anyway`, key, 'DANGEROUS_ENV_NAME')
    out.push({ name, value: envValue(key, value), key: [...key] })
  }
  return out
}

/** One selected subtree with its values. */
export interface Selection {
  base: readonly string[]
  entries: readonly Entry[]
}

/**
 * Merges several selected subtrees; a later selection wins on the same name.
 * @returns name to variable, in first-seen order
 * @throws as {@link envFromEntries}
 */
export function envFromSelections(selections: readonly Selection[], options: EnvOptions = {}): Map<string, EnvVar> {
  const merged = new Map<string, EnvVar>()
  for (const { base, entries } of selections) for (const v of envFromEntries(base, entries, options)) merged.set(v.name, v)
  return merged
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
