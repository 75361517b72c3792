/**
 * sstash-run's whole selection, as a library function: which key paths (the command line, else
 * the project's package.json), how they are named, and how they join the environment. The
 * binary is this function followed by starting the command; a program can call it to get
 * the same environment for a child of its own.
 *
 * The variables come from sources merged in order, a later one winning on the same name: the
 * reference files (`--env-file`, docs/REFERENCES.md), in order, then the `-k` subtrees, in order.
 * The subtrees are named and checked by ./naming.ts in one pass, the files by ./references.ts and
 * ./reference-resolve.ts, so every problem of a source is reported at once. One read of the stash serves both.
 */
import { resolve } from 'node:path'
import { SSError, reasonOf } from '../errors.js'
import { stashPath } from '../locations.js'
import { parseKeyPath } from '../tree/key-path.js'
import { Tree } from '../tree/tree.js'
import { SECRET_ENV_VARS } from './secret-variables.js'
import { checkPrefix, childEnv, envFromSelections, type EnvVar } from './naming.js'
import { envFilesFromConfig, findProjectConfig } from './project-config.js'

/** What to select: sstash-run's options. */
export interface SelectOptions {
  /** Key paths in the command line's spelling (`project/myapp`); none: the package.json field. */
  keys?: readonly string[]
  /**
   * Reference files (`.env.sstash`), merged before the key paths (a later file, then any key
   * path, wins on the same name). With neither, the package.json `keys` and `envFile` choose.
   */
  envFiles?: readonly string[]
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
  /** The injected values `--mask` hides: all but the plain values of reference files. */
  secrets: string[]
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
/** What the options and the project's package.json select, resolved. */
export interface Plan {
  keys: string[]
  envFiles: string[]
  prefix?: string
  override: boolean
  mask: boolean
  allow: string[]
  stash: string
  project?: string
  warnings: string[]
}

const NO_KEYS_HINT = 'or --env-file .env.sstash, or add {"sstash": {"keys": ["project/myapp"]}} (or "envFile") to package.json'

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

export function planOf(options: SelectOptions): Plan {
  const env = options.env ?? process.env
  const base = { override: options.override === true, mask: options.mask === true, allow: [...(options.allow ?? [])], warnings: [] as string[] }
  const keys = options.keys ?? []
  const envFiles = options.envFiles ?? []
  if (keys.length > 0 || envFiles.length > 0)
    return { ...base, keys: [...keys], envFiles: [...envFiles], prefix: options.prefix, stash: stashPath(options.stash, env) }
  const lookup = findProjectConfig(options.cwd ?? workingDirectory())
  const found = lookup.found
  const configKeys = found?.config.keys ?? []
  const configFiles = found ? envFilesFromConfig(found.config.envFile, found.file) : []
  if (!found || (configKeys.length === 0 && configFiles.length === 0))
    // The files passed over go with the error (its details, one line each), so that whoever
    // prints only the error still says which package.json was not read, and why.
    throw new SSError(found ? `the "sstash" field of ${found.file} has no "keys" and no "envFile"` : 'no key paths: pass -k <keypath>', 'USAGE', {
      hint: lookup.warnings.length === 0 ? NO_KEYS_HINT : `${NO_KEYS_HINT} (${lookup.warnings.length === 1 ? 'the package.json named above was' : 'the files named above were'} not read)`,
      details: lookup.warnings,
    })
  const { config, dir, file } = found
  return {
    keys: typeof configKeys === 'string' ? [configKeys] : configKeys,
    envFiles: configFiles,
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

/** Where variables come from, merged in this order (a later source wins on the same name). */
export interface VariableSources {
  /** Reference files, as given (they name the files in messages). */
  envFiles: readonly string[]
  /** Selected subtrees, named by ./naming.ts. */
  keys: readonly (readonly string[])[]
  /** Prepended to the subtrees' names (a reference file's names stay as written). */
  prefix?: string
  /** Refused names allowed by name, in the files and the subtrees. */
  allow: readonly string[]
}

/**
 * The variables of reference files and selected subtrees, from one read of the stash: what
 * sstash-run injects and `sstash export --env-file` prints. The files are checked before the
 * stash is read, so a bad file costs no password; a file of plain values needs no stash.
 * @param read - reads the stash for these key paths (the subtrees and every reference)
 * @returns name to variable, in first-seen order; a reference file's variables carry `reference`
 * @throws {SSError} BAD_ENV_PREFIX; the files' errors (IO_ERROR, UNSAFE_FILE, ...); SSReferenceError
 *   BAD_REFERENCE, UNRESOLVED_REFERENCE; the naming errors of the subtrees; `read`'s errors
 */
export async function readVariables(sources: VariableSources, read: (keys: string[][]) => Promise<Tree>): Promise<Map<string, EnvVar>> {
  if (sources.prefix !== undefined) checkPrefix(sources.prefix)
  const files = sources.envFiles.length > 0 ? await loadReferenceFiles(sources.envFiles, sources.allow) : undefined
  const wanted = [...sources.keys.map((k) => [...k]), ...(files?.keys ?? [])]
  const tree = wanted.length > 0 ? await read(wanted) : new Tree()
  // References first: every unresolved one is listed before a missing subtree stops the run.
  const fromFiles = files?.resolving.resolveReferences(files.entries, tree)
  const fromKeys = envFromSelections(
    sources.keys.map((base) => ({ base, entries: tree.entries(base) })),
    { prefix: sources.prefix, allow: sources.allow },
  )
  return files && fromFiles ? files.resolving.mergeVars(fromFiles, fromKeys) : fromKeys
}

/**
 * Reads, checks and merges the reference files, loading their code only now: sstash-run's
 * start-up with `-k` alone stays as it was.
 */
async function loadReferenceFiles(paths: readonly string[], allow: readonly string[]) {
  const [{ readReferenceFiles }, references, resolving] = await Promise.all([import('./reference-files.js'), import('./references.js'), import('./reference-resolve.js')])
  const entries = references.mergeReferenceFiles(readReferenceFiles(paths, { allow }))
  return { entries, keys: references.referenceKeys(entries), resolving }
}
