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
import { SSError, reasonOf } from '../errors.js'
import { stashPath } from '../locations.js'
import { parseKeyPath } from '../tree/key-path.js'
import { Tree } from '../tree/tree.js'
import { checkPrefix, childEnv, envFromSelections, type EnvVar } from './naming.js'
import { findProjectConfig, selectionOfConfig } from './project-config.js'
import { SECRET_ENV_VARS } from './secret-variables.js'
import { selectionOver, type Selection } from './selection.js'

type Env = Readonly<Record<string, string | undefined>>

/** What to select: sstash-run's options; with no `keys` and no `envFiles`, the package.json's field chooses. */
export interface SelectOptions extends Partial<Selection> {
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

/** What the options and the project's package.json select, resolved, before the stash is read. */
export interface Plan extends Selection {
  stash: string
  /** The package.json whose field chose, when one did. */
  project?: string
  /** The package.json files passed over, and why. */
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

/**
 * The plan: the options when they name key paths or reference files, else the options over the
 * nearest package.json's field (./project-config.ts).
 * @throws {SSError} USAGE when neither names any; BAD_PROJECT_CONFIG
 */
export function planOf(options: SelectOptions): Plan {
  const env = options.env ?? process.env
  if ((options.keys?.length ?? 0) > 0 || (options.envFiles?.length ?? 0) > 0)
    return { ...selectionOver(options, {}), stash: stashPath(options.stash, env), warnings: [] }
  const lookup = findProjectConfig(options.cwd ?? workingDirectory())
  const found = lookup.found
  const fromConfig = found ? selectionOfConfig(found) : {}
  if (!found || (fromConfig.keys?.length === 0 && fromConfig.envFiles?.length === 0))
    // The files passed over go with the error (its details, one line each), so that whoever
    // prints only the error still says which package.json was not read, and why.
    throw new SSError(found ? `the "sstash" field of ${found.file} has no "keys" and no "envFile"` : 'no key paths: pass -k <keypath>', 'USAGE', {
      hint: lookup.warnings.length === 0 ? NO_KEYS_HINT : `${NO_KEYS_HINT} (${lookup.warnings.length === 1 ? 'the package.json named above was' : 'the files named above were'} not read)`,
      details: lookup.warnings,
    })
  const selection = selectionOver(options, fromConfig)
  const stash = options.stash !== undefined || fromConfig.stash === undefined ? stashPath(options.stash, env) : fromConfig.stash
  return { ...selection, stash, project: found.file, warnings: lookup.warnings }
}

/** Reads the stash at `stash` for these key paths, its password sources in `env`. */
export type StashRead = (stash: string, keys: string[][], env: Env) => Promise<Tree>

/**
 * Makes the environment sstash-run gives its command: the reference files and key paths asked
 * for (or the project's package.json `"sstash"` field), read by `read` in one read, named by the
 * naming rule, merged into `env`. The reading is the caller's, so that this layer opens no stash
 * (../unlock/select-environment.ts passes the one that does; sstash-run's small first half, one
 * that only asks the agent).
 * @returns the child's environment, what was injected, whether to mask, and warnings
 * @throws {SSError} as {@link planOf} and {@link readVariables}; `read`'s errors
 */
export async function environmentOf(options: SelectOptions, read: StashRead): Promise<SelectedEnvironment> {
  const plan = planOf(options)
  const env = options.env ?? process.env
  const sources = { keys: plan.keys.map(parseKeyPath), envFiles: plan.envFiles, prefix: plan.prefix, allow: plan.allow }
  const vars = await readVariables(sources, (keys) => read(plan.stash, keys, env))
  const { env: childEnvironment, injected } = childEnv(env, vars, { override: plan.override, remove: SECRET_ENV_VARS })
  // reference-resolve.js is loaded already when there are files, and only then.
  const secrets = plan.envFiles.length > 0 ? (await import('./reference-resolve.js')).secretValues(injected) : injected.map((v) => v.value)
  return {
    env: childEnvironment,
    injected,
    secrets,
    mask: plan.mask,
    stash: plan.stash,
    ...(plan.project === undefined ? {} : { project: plan.project }),
    warnings: plan.warnings,
  }
}

/**
 * Where variables come from, merged in this order (a later source wins on the same name): a
 * {@link Selection}'s files and naming, with its key paths parsed.
 */
export interface VariableSources extends Pick<Selection, 'envFiles' | 'prefix' | 'allow'> {
  /** Selected subtrees, named by ./naming.ts. */
  keys: readonly (readonly string[])[]
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
