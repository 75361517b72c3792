/**
 * `sstash import --write-refs <file> --update`: a reference file grows. The variables of an
 * import that the file does not name yet are appended, one `NAME=sstash://<into>/NAME` line
 * each; every line already there (comments, blank lines, plain values, references elsewhere)
 * stays as it was, in its order. Pure: text in, text out.
 */
import { SSReferenceError, formatReferenceFile, parseReferenceFile, type ReferenceOptions } from './references.js'

/** What {@link addReferences} made. */
export interface ReferenceUpdate {
  /** The new text of the file. */
  text: string
  /** The names appended, in import order. */
  added: string[]
  /** The imported names the file already had, left as they were. */
  kept: string[]
}

/**
 * Appends references for the `names` imported below `base` that `existing` does not define.
 * @param existing - the reference file's text now
 * @param file - its name, for messages
 * @throws {SSReferenceError} BAD_REFERENCE when the existing file does not parse, for the names
 *   a reference file cannot hold (all at once), or when the appended file would not read back
 */
export function addReferences(existing: string, file: string, base: readonly string[], names: readonly string[], options: ReferenceOptions = {}): ReferenceUpdate {
  const present = new Set(parseReferenceFile(existing, file, options).entries.map((entry) => entry.name))
  const added = names.filter((name) => !present.has(name))
  const kept = names.filter((name) => present.has(name))
  if (added.length === 0) return { text: existing, added, kept }
  const lines = formatReferenceFile(added.map((name) => ({ name, key: [...base, name] })), options)
  const text = `${existing}${existing === '' || existing.endsWith('\n') ? '' : '\n'}${lines}`
  // The whole file must still read as the old entries plus the new ones.
  const after = parseReferenceFile(text, file, options).entries.map((entry) => entry.name)
  if (after.length !== present.size + added.length)
    throw new SSReferenceError([{ where: file, code: 'NOT_REPRESENTABLE', reason: 'would not read back the same with the new lines appended' }], 'BAD_REFERENCE')
  return { text, added, kept }
}
