/**
 * Resolving reference files against the stash: each reference's key path read once, every
 * failure collected into one error that names the file, the variable and the key path (never a
 * value); then the layers of variables merged, and the values `--mask` hides picked out.
 */
import { SSKeyError } from '../errors.js'
import { formatKeyPath } from '../tree/key-path.js'
import { Tree } from '../tree/tree.js'
import { envValue, type EnvVar } from './naming.js'
import { REFERENCE_SCHEME, SSReferenceError, type FileEntry, type ReferenceEntry, type ReferenceProblem } from './references.js'

/** Reads one key path; throws an SSKeyError (KEY_NOT_FOUND, NO_VALUE) when it has no value. */
export type KeyReader = (key: readonly string[]) => Uint8Array

const readerOf = (source: Tree | KeyReader): KeyReader => (source instanceof Tree ? (key) => source.read(key) : source)

/** Why a key path did not give a value, for a problem line. */
function unresolvedReason(key: readonly string[], error: SSKeyError): string {
  const shown = `${REFERENCE_SCHEME}${formatKeyPath(key)}`
  if (error.code === 'KEY_NOT_FOUND') return `${shown} was not found in the stash`
  if (error.code === 'NO_VALUE') return `${shown} holds no value (only keys below it)`
  return `${shown} cannot be read: ${error.message}`
}

/**
 * Reads every key of `wanted` from `source`, collecting what fails instead of stopping.
 * Errors that are not about a key (the agent, the disk) are thrown as they are.
 * @param wanted - where each reference is (for the problem line) and its key path
 * @returns the values by position in `wanted` (undefined for a failed one), and the problems
 */
export function readReferences(
  wanted: readonly { where: string; key: readonly string[] }[],
  source: Tree | KeyReader,
): { values: (Uint8Array | undefined)[]; problems: ReferenceProblem[] } {
  const read = readerOf(source)
  const problems: ReferenceProblem[] = []
  const values = wanted.map(({ where, key }) => {
    try {
      return read(key)
    } catch (error) {
      if (!(error instanceof SSKeyError)) throw error
      problems.push({ where, code: error.code, reason: unresolvedReason(key, error), key: [...key] })
      return undefined
    }
  })
  return { values, problems }
}

/** The hint of an unresolved reference. */
export const UNRESOLVED_HINT = '`sstash ls <keypath>` shows what the stash holds; `sstash set <keypath>` stores a value'

/** One variable of a resolved reference file. */
export interface ResolvedVar extends EnvVar {
  /** True when the value came from the stash through a reference (what `--mask` hides). */
  reference: boolean
  /** The reference file it was set in. */
  file: string
}

/**
 * Resolves merged reference entries against the stash.
 * @param entries - from {@link mergeReferenceFiles} (or one file's entries)
 * @param source - a tree holding at least {@link referenceKeys} (as readStash returns it), or a reader
 * @returns name to variable, in entry order; `key` is the reference's key path, `[]` for a plain value
 * @throws {SSReferenceError} UNRESOLVED_REFERENCE listing every reference that did not resolve
 *   (missing key, no value, not UTF-8 or holding NUL), naming the file, variable and key path
 */
export function resolveReferences(entries: readonly FileEntry[], source: Tree | KeyReader): Map<string, ResolvedVar> {
  const refs = entries.filter((e): e is ReferenceEntry => e.kind === 'reference')
  const where = (e: FileEntry): string => `${e.file}: ${e.name}`
  const { values, problems } = readReferences(refs.map((e) => ({ where: where(e), key: e.key })), source)
  const resolved = new Map<ReferenceEntry, string>()
  refs.forEach((e, i) => {
    const bytes = values[i]
    if (bytes === undefined) return
    try {
      resolved.set(e, envValue(e.key, bytes))
    } catch (error) {
      if (!(error instanceof SSKeyError)) throw error
      // envValue's message names the key path ("key a/b is not valid UTF-8, ..."), never the value.
      problems.push({ where: where(e), code: error.code, reason: `${REFERENCE_SCHEME}${error.message.replace(/^key /, '')}`, key: e.key })
    }
  })
  if (problems.length > 0) throw new SSReferenceError(problems, 'UNRESOLVED_REFERENCE', UNRESOLVED_HINT)
  const out = new Map<string, ResolvedVar>()
  for (const e of entries) {
    const v: ResolvedVar = e.kind === 'plain'
      ? { name: e.name, value: e.value, key: [], reference: false, file: e.file }
      : { name: e.name, value: resolved.get(e) as string, key: [...e.key], reference: true, file: e.file }
    out.set(e.name, v)
  }
  return out
}

/**
 * Merges layers of variables (reference files, `-k` selections): a later layer wins on the same name.
 * @returns name to variable, in first-seen order
 */
export function mergeVars(...layers: readonly (ReadonlyMap<string, EnvVar> | readonly EnvVar[])[]): Map<string, EnvVar> {
  const merged = new Map<string, EnvVar>()
  for (const layer of layers) for (const v of layer.values()) merged.set(v.name, v)
  return merged
}

/**
 * The values `--mask` hides: every variable from the stash (a reference, or a `-k` selection),
 * none of the plain values of a reference file.
 */
export function secretValues(vars: Iterable<EnvVar>): string[] {
  const out: string[] = []
  for (const v of vars) if ((v as Partial<ResolvedVar>).reference !== false) out.push(v.value)
  return out
}
