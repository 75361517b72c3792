/**
 * sstash-run's whole selection, as a library function (exported by `sstash/env`): the plan of
 * ../env/select.ts (key paths from the command line or package.json, naming, reference files)
 * read from the stash in one read. It opens a stash, so it sits above the env layer.
 */
import { childEnv } from '../env/naming.js'
import { SECRET_ENV_VARS } from '../env/secret-variables.js'
import { planOf, readVariables, type SelectOptions, type SelectedEnvironment } from '../env/select.js'
import { parseKeyPath } from '../tree/key-path.js'
import { readStash } from './open.js'

/**
 * Makes the environment sstash-run gives its command: the reference files and key paths asked
 * for (or the project's package.json `"sstash"` field), read from the stash in one read (through
 * the agent when it holds it), named by the naming rule, merged into `env`.
 * @returns the child's environment, what was injected, whether to mask, and warnings
 * @throws {SSError} USAGE (no key paths), BAD_PROJECT_CONFIG, BAD_ENV_PREFIX, BAD_KEYPATH_SYNTAX;
 *   the files' errors (IO_ERROR, UNSAFE_FILE, ...; SSReferenceError BAD_REFERENCE, UNRESOLVED_REFERENCE);
 *   the stash's errors (STASH_NOT_FOUND, KEY_NOT_FOUND, NO_PASSWORD, ...); naming errors, all at once
 */
export async function selectEnvironment(options: SelectOptions = {}): Promise<SelectedEnvironment> {
  const plan = planOf(options)
  const env = options.env ?? process.env
  const sources = { keys: plan.keys.map(parseKeyPath), envFiles: plan.envFiles, prefix: plan.prefix, allow: plan.allow }
  const vars = await readVariables(sources, (keys) => readStash(plan.stash, keys, { env }))
  const { env: childEnvironment, injected } = childEnv(env, vars, { override: plan.override, remove: SECRET_ENV_VARS })
  // reference-resolve.js is loaded already when there are files, and only then.
  const secrets = plan.envFiles.length > 0 ? (await import('../env/reference-resolve.js')).secretValues(injected) : injected.map((v) => v.value)
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
