/**
 * sstash-run's option set, as one type wherever it comes from: the command line
 * (../cli/sstash-run.ts), a package.json's `"sstash"` field (./project-config.ts), a program
 * calling selectEnvironment (./select.ts); resolved into the plan the runner's environment is
 * made from. Its own module, so that the field's reader and the plan share it without a cycle.
 */

/** What sstash-run selects: which variables, how they are named, how they join the environment. */
export interface Selection {
  /** Key paths in the command line's spelling (`project/myapp`), in order: a later one wins on the same name. */
  keys: readonly string[]
  /** Reference files (`.env.sstash`), merged before the key paths (a later file, then any key path, wins on the same name). */
  envFiles: readonly string[]
  /** Prepended to every name from `keys` (a reference file's names stay as written). */
  prefix?: string
  /** The stash wins over variables already set. */
  override: boolean
  /** Mask the values in the command's output. */
  mask: boolean
  /** Refused names allowed by name. */
  allow: readonly string[]
  /** The stash file; else $SSTASH_FILE, else the default location. */
  stash?: string
}

/**
 * One selection over another: `over`'s key paths and files when it names any (else `under`'s),
 * its prefix and stash when set, either's `override` and `mask`, both's `allow`. How the
 * command line goes over a package.json's field.
 */
export function selectionOver(over: Partial<Selection>, under: Partial<Selection>): Selection {
  const chooses = (over.keys?.length ?? 0) > 0 || (over.envFiles?.length ?? 0) > 0
  return {
    keys: [...((chooses ? over.keys : under.keys) ?? [])],
    envFiles: [...((chooses ? over.envFiles : under.envFiles) ?? [])],
    prefix: over.prefix ?? under.prefix,
    override: over.override === true || under.override === true,
    mask: over.mask === true || under.mask === true,
    allow: [...(under.allow ?? []), ...(over.allow ?? [])],
    stash: over.stash ?? under.stash,
  }
}
