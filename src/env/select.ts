/**
 * sstash-run's whole selection, as a library function: which key paths (the command line, else
 * the project's package.json), how they are named, and how they join the environment. The
 * binary is this function followed by starting the command; a program can call it to get
 * the same environment for a child of its own.
 *
 * The variables come from sources merged in order, a later one winning on the same name: today
 * the `-k` subtrees; every source is named and checked by ./naming.ts in one pass, so every
 * naming problem of a run is reported at once.
 */
import { resolve } from 'node:path'
import { SSError, reasonOf } from '../errors.js'
import { stashPath } from '../locations.js'
import { parseKeyPath } from '../tree/key-path.js'
import { readStash } from '../unlock/open.js'
import { SECRET_ENV_VARS } from '../unlock/secret-variables.js'
import { checkPrefix, childEnv, envFromSelections, type EnvVar } from './naming.js'
import { findProjectConfig } from './project-config.js'

/** What to select: sstash-run's options. */
export interface SelectOptions {
  /** Key paths in the command line's spelling (`project/myapp`); none: the package.json field. */
  keys?: readonly string[]
  /** Prepended to every name. The package.json `prefix` applies when this is undefined. */
  prefix?: string
  /** The stash wins over variables already set (or the package.json says so). */
  override?: boolean
  /** Mask the values in the command's output (or the package.json says so); reported back. */
  mask?: boolean
  /** Refused names allowed by name, added to the package.json `allow`. */
  allow?: readonly string[]
  /** The stash; else the package.json `stash` (relative to it), else $SSTASH_FILE, else the default. */
  stash?: string
  /** Where the package.json walk starts (default: the working directory). */
  cwd?: string
  /** The environment the child's is made from, and the password sources read (default process.env). */
  env?: Readonly<Record<string, string | undefined>>
}

/** The selection's result: what the command gets. */
export interface SelectedEnvironment {
  /** The child's complete environment: `env` minus the password variables, plus the variables. */
  env: Record<string, string>
  /** The variables actually set from the stash (a variable already set wins unless `override`). */
  injected: EnvVar[]
  /** Whether the output is to be masked. */
  mask: boolean
  /** The stash read. */
  stash: string
  /** The package.json whose `"sstash"` field chose, when one did. */
  project?: string
  /** Things the user should hear about (package.json files passed over, and why). */
  warnings: string[]
}

/** The resolved plan before the stash is read. */
interface Plan {
  keys: string[]
  prefix?: string
  override: boolean
  mask: boolean
  allow: string[]
  stash: string
  project?: string
  warnings: string[]
}

const NO_KEYS_HINT = 'or add {"sstash": {"keys": ["project/myapp"]}} to package.json'

/** The working directory, with a clear error when it was removed under us. */
function workingDirectory(): string {
  try {
    return process.cwd()
  } catch (error) {
    throw new SSError(`cannot look for package.json from the working directory: ${reasonOf(error)}`, 'IO_ERROR', {
      cause: error,
      hint: 'the directory was probably deleted: cd to the project again, or pass -k <keypath>',
    })
  }
}

function planOf(options: SelectOptions): Plan {
  const env = options.env ?? process.env
  const base = { override: options.override === true, mask: options.mask === true, allow: [...(options.allow ?? [])], warnings: [] as string[] }
  if (options.keys !== undefined && options.keys.length > 0)
    return { ...base, keys: [...options.keys], prefix: options.prefix, stash: stashPath(options.stash, env) }
  const lookup = findProjectConfig(options.cwd ?? workingDirectory())
  const found = lookup.found
  const keys = found?.config.keys
  if (!found || keys === undefined || keys.length === 0)
    throw new SSError(found ? `the "sstash" field of ${found.file} has no "keys"` : 'no key paths: pass -k <keypath>', 'USAGE', {
      hint: lookup.warnings.length > 0 ? `${NO_KEYS_HINT} (${lookup.warnings.length} package.json not read: see the warnings)` : NO_KEYS_HINT,
    })
  const { config, dir, file } = found
  return {
    keys: typeof keys === 'string' ? [keys] : keys,
    prefix: options.prefix ?? config.prefix,
    override: base.override || config.override === true,
    mask: base.mask || config.mask === true,
    allow: [...(config.allow ?? []), ...base.allow],
    // A path in package.json is relative to that file, so it works from any subdirectory.
    stash: options.stash !== undefined || config.stash === undefined ? stashPath(options.stash, env) : resolve(dir, config.stash),
    project: file,
    warnings: lookup.warnings,
  }
}

/**
 * Makes the environment sstash-run gives its command: the key paths asked for (or the
 * project's package.json `"sstash"` field), read from the stash (through the agent when it
 * holds it), named by the naming rule, merged into `env`.
 * @returns the child's environment, what was injected, whether to mask, and warnings
 * @throws {SSError} USAGE (no key paths), BAD_PROJECT_CONFIG, BAD_ENV_PREFIX, BAD_KEYPATH_SYNTAX;
 *   the stash's errors (STASH_NOT_FOUND, KEY_NOT_FOUND, NO_PASSWORD, ...); naming errors, all at once
 */
export async function selectEnvironment(options: SelectOptions = {}): Promise<SelectedEnvironment> {
  const plan = planOf(options)
  if (plan.prefix !== undefined) checkPrefix(plan.prefix)
  const keys = plan.keys.map(parseKeyPath)
  const env = options.env ?? process.env
  const tree = await readStash(plan.stash, keys, { env })
  const vars = envFromSelections(
    keys.map((base) => ({ base, entries: tree.entries(base) })),
    { prefix: plan.prefix, allow: plan.allow },
  )
  const { env: childEnvironment, injected } = childEnv(env, vars, { override: plan.override, remove: SECRET_ENV_VARS })
  return {
    env: childEnvironment,
    injected,
    mask: plan.mask,
    stash: plan.stash,
    ...(plan.project === undefined ? {} : { project: plan.project }),
    warnings: plan.warnings,
  }
}
