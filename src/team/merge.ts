/**
 * The merge driver: a three-way merge of team stashes record by record (docs/TEAM.md, Merge
 * semantics). A value changed differently on both sides becomes a conflict record that
 * `team resolve` or `set` settles; membership records changed differently on both sides are
 * settled by membership-merge.ts (members added under one scope key merge, the rest is a
 * conflict). Values left under an older generation than their scope's (edits from a branch
 * that did not have a rotation) are re-encrypted under the current one.
 */
import { SSError } from '../errors.js'
import { formatKeyPath } from '../tree/key-path.js'
import type { Identity } from './age-file.js'
import { decodePath, inPathOrder, joinRecords, parseTeamFile, removedLines, serializeTeamFile, splitRecords, type TeamFile } from './format.js'
import { openKeyring } from './keyring.js'
import { resignScopes, settleMembership, type Sides } from './membership-merge.js'
import { openValue, sealValue } from './scope-keys.js'
import type { SeenStore } from './seen.js'

/** What a merge produced. */
export interface MergeResult {
  bytes: Uint8Array
  /** Key paths changed differently on both sides, now holding conflict records. */
  conflicts: string[][]
  /** Values re-encrypted under their scope's newest key. */
  reencrypted: number
  /** Scopes whose members both sides changed, merged and signed again. */
  membership: string[]
}

/** A file's records by what identifies them (kind and first fields), each as its lines without the last newline. */
function records(bytes: Uint8Array, what: string): { header: string; byKey: Map<string, string> } {
  const lines = Buffer.from(bytes).toString('utf8').split('\n')
  lines.pop()
  const byKey = new Map<string, string>()
  const fail = (line: number, why: string): never => {
    throw new SSError(`${what} is not a valid team stash: line ${line}: ${why}`, 'NOT_A_STASH')
  }
  for (const record of splitRecords(lines, fail)) {
    const f = record.first.split(' ')
    const kind = f[0] as string
    // Values and conflicts by key path (their slot follows from it), the rest by name.
    const key = kind === 'wrap' ? `wrap ${f[1]} ${f[3]}` : kind === 'chain' ? `chain ${f[1]} ${f[2]}` : kind === 'value' || kind === 'conflict' ? `${kind} ${f[2]}` : `${kind} ${f[1]}`
    const payload = record.text.slice(record.first.length)
    byKey.set(key, payload === '' ? record.first : `${record.first}\n${payload}\n`)
  }
  return { header: lines[0] ?? '', byKey }
}

/**
 * Merges `ours` and `theirs` from their common `base`.
 * @param identities - when given, members added on both sides of a scope they hold are merged, and
 * stale values of the scopes they hold are re-encrypted
 * @throws {SSError} TEAM_CONFLICT for a membership conflict or another team; NOT_A_STASH;
 * {@link SSCryptoError} TEAM_TAMPERED when a side's membership to merge does not verify
 */
export function mergeTeamFiles(base: Uint8Array, ours: Uint8Array, theirs: Uint8Array, what: string, identities?: readonly Identity[], seen?: SeenStore): MergeResult {
  // Each side must be a valid team stash on its own; the base may be empty (both sides added the file).
  const [oursFile, theirsFile] = [ours, theirs].map((bytes) => parseTeamFile(bytes, what)) as [TeamFile, TeamFile]
  const [o, t] = [records(ours, what), records(theirs, what)]
  const b = base.length > 0 ? records(base, what) : { header: o.header, byKey: new Map<string, string>() }
  if (o.header !== t.header) throw new SSError(`${what}: the two sides are different team stashes (another team id)`, 'TEAM_CONFLICT')
  const out: string[] = []
  const conflicts: string[][] = []
  const membership: string[] = []
  // Values one side changed: only these can be edits made under a key the other side rotated.
  const changed = new Set<string>()
  for (const key of new Set([...o.byKey.keys(), ...t.byKey.keys(), ...b.byKey.keys()])) {
    const [bl, ol, tl] = [b.byKey.get(key), o.byKey.get(key), t.byKey.get(key)]
    if (ol === tl || tl === bl || ol === bl) {
      const line = ol === tl || tl === bl ? ol : tl
      if (line !== bl && key.startsWith('value ')) changed.add(key.slice(6))
      if (line !== undefined) out.push(line)
    } else if (key.startsWith('value ')) {
      const path = key.slice(6)
      conflicts.push(decodePath(path) as string[])
      if (ol !== undefined) out.push(ol)
      out.push(tl === undefined ? removedLines(path) : `conflict ${tl.slice(6)}`)
    } else if (key.startsWith('conflict ')) {
      // Both sides settled an older conflict differently: ours stands; the values decide.
      if (ol !== undefined) out.push(ol)
    } else membership.push(key)
  }
  const sides: Sides = { base: membership.length > 0 && base.length > 0 ? parseTeamFile(base, what) : undefined, ours: oursFile, theirs: theirsFile }
  const resign = settleMembership(membership, sides, what)
  // Where settleMembership returns, both sides hold each of these records and ours stands.
  for (const key of membership) out.push(o.byKey.get(key) as string)
  const text = joinRecords(o.header, out)
  let file: TeamFile
  try {
    file = parseTeamFile(text, what)
  } catch (error) {
    throw new SSError(`${what}: the two sides' changes do not fit together: ${(error as Error).message}`, 'TEAM_CONFLICT', { cause: error })
  }
  resignScopes(file, resign, sides, identities, what)
  const reencrypted = identities && seen ? reencryptStale(file, changed, identities, seen, what) : 0
  return { bytes: reencrypted > 0 || resign.length > 0 ? serializeTeamFile(file) : text, conflicts, reencrypted, membership: resign }
}

/**
 * Re-encrypts the changed values under an older generation than their scope's, in the scopes the
 * identity holds. Values nobody changed keep their bytes: a rotation leaves them as they are.
 */
function reencryptStale(file: TeamFile, changed: ReadonlySet<string>, identities: readonly Identity[], seen: SeenStore, what: string): number {
  let ring
  try {
    ring = openKeyring(file, identities, seen, what)
  } catch {
    // Not a member, or a check failed: the merge stands as git's would; readers check it again.
    return 0
  }
  let count = 0
  for (const [enc, record] of file.values) {
    const scope = file.scopes.get(record.scope)
    if (!changed.has(enc) || !scope || record.gen === scope.gen || !ring.holds(record.scope) || file.conflicts.has(enc)) continue
    const value = openValue(ring.keyAt(record.scope, record.gen), file.teamId, record)
    file.values.set(enc, sealValue(ring.keyAt(record.scope, scope.gen), file.teamId, { path: record.path, scope: record.scope, gen: scope.gen, since: record.since }, value))
    count++
  }
  return count
}

/** The conflicted key paths of a team stash, in the command-line spelling. */
export const conflictList = (file: TeamFile): string[] => inPathOrder(file.conflicts).map(([enc]) => formatKeyPath(decodePath(enc) as string[]))
