/**
 * sstash-run's whole selection, as a library function (exported by `sstash/env`): the plan of
 * ../env/select.ts (key paths from the command line or package.json, naming, reference files)
 * read from the stash in one read. It opens a stash, so it sits above the env layer.
 */
import { environmentOf, type SelectOptions, type SelectedEnvironment } from '../env/select.js'
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
export function selectEnvironment(options: SelectOptions = {}): Promise<SelectedEnvironment> {
  return environmentOf(options, (stash, keys, env) => readStash(stash, keys, { env }))
}
