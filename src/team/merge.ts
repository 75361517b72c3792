/**
 * The merge driver: a three-way merge of team stashes (docs/TEAM.md, Merges). Both sides are
 * verified in full (signature, structure, the team this clone pinned) before anything is
 * written. Values merge record by record; one changed differently on both sides becomes a
 * conflict record. Membership changed on one side takes that side's signed section; changed
 * on both, its records merge only when they do not collide and the identity running the merge
 * is an admin, who signs the union at a new epoch. Values of an older generation are left as
 * they are (refused until set again): a merge never encrypts them under the new key.
 */
import { SSError } from '../errors.js'
import { formatKeyPath } from '../tree/key-path.js'
import type { Identity } from './age-file.js'
import { TEAM_MAGIC, byteOrder, decodePath, inPathOrder, isValue, joinFile, membershipLines, valueLines, type TeamFile } from './format.js'
import { openKeyring } from './keyring.js'
import { parseTeamFile, parseUnsigned } from './parse.js'
import type { SeenStore } from './seen.js'
import { signMembership, teamFingerprint } from './signing.js'
import { mergedCommit } from './history.js'
import { checkTrust } from './trust.js'

/** What a merge produced. */
export interface MergeResult {
  bytes: Uint8Array
  /** Key paths changed differently on both sides, now holding conflict records. */
  conflicts: string[][]
  /** True when membership changed on both sides and was signed again by the merging admin. */
  membership: boolean
}

const HINT = 'an admin runs the merge (with SSTASH_IDENTITY or SSTASH_IDENTITY_FILE); or keep one side (`git checkout --ours <file>` or `--theirs`), `git add` it, and redo the other side\'s membership change'

/** A side parsed and verified, with its side named in any error. */
function side(bytes: Uint8Array, name: string, what: string): TeamFile {
  try {
    return parseTeamFile(bytes, `${what} (${name} side)`)
  } catch (error) {
    if (error instanceof SSError) Object.defineProperty(error, 'message', { value: `${error.message}; the merge driver refuses it and leaves the file as it was` })
    throw error
  }
}

/** The value records of a file by key (`value <path>` or `conflict <path>`), each as its lines. */
function valuesByKey(file: TeamFile | undefined): Map<string, string> {
  const out = new Map<string, string>()
  if (!file) return out
  for (const [enc, v] of file.values) out.set(`value ${enc}`, valueLines('value', enc, v))
  for (const [enc, t] of file.tombstones) if (!file.values.has(enc)) out.set(`value ${enc}`, valueLines('value', enc, t))
  for (const [enc, v] of file.conflicts) out.set(`conflict ${enc}`, valueLines('conflict', enc, v))
  return out
}

/** A membership line's identity: its kind and the fields that name it. */
function lineKey(line: string): string {
  const f = line.split(' ')
  if (f[0] === 'wrap' || f[0] === 'removed') return `${f[0]} ${f[1]} ${f[3] === undefined ? '' : f[0] === 'wrap' ? f[3] : f[2]}`
  return `${f[0]} ${f[1]}`
}

const unsignedLines = (file: TeamFile | undefined): Map<string, string> =>
  new Map((file ? membershipLines(file) : []).filter((l) => !l.startsWith('epoch ')).map((l) => [lineKey(l), l]))

/** Three-way merge of keyed texts. @returns the merged texts and the keys changed differently on both sides */
function threeWay(base: Map<string, string>, ours: Map<string, string>, theirs: Map<string, string>): { out: Map<string, string>; clashes: string[] } {
  const out = new Map<string, string>()
  const clashes: string[] = []
  for (const key of new Set([...base.keys(), ...ours.keys(), ...theirs.keys()])) {
    const [b, o, t] = [base.get(key), ours.get(key), theirs.get(key)]
    if (o === t || t === b) {
      if (o !== undefined) out.set(key, o)
    } else if (o === b) {
      if (t !== undefined) out.set(key, t)
    } else clashes.push(key)
  }
  return { out, clashes }
}

/** The membership lines of the merge, signed; the caller checks the whole result. @throws {SSError} TEAM_CONFLICT, NOT_ADMIN */
function mergeMembership(sides: { base?: TeamFile; ours: TeamFile; theirs: TeamFile }, identities: readonly Identity[] | undefined, what: string): { lines: string[]; resigned: boolean } {
  const { base, ours, theirs } = sides
  const signed = (file: TeamFile): string[] => [...membershipLines(file), `signature ${file.signature}`].sort(byteOrder)
  const [o, t] = [signed(ours), signed(theirs)]
  const b = base ? signed(base) : undefined
  if (o.join('\n') === t.join('\n') || t.join('\n') === b?.join('\n')) return { lines: o, resigned: false }
  if (o.join('\n') === b?.join('\n')) return { lines: t, resigned: false }
  const { out, clashes } = threeWay(unsignedLines(base), unsignedLines(ours), unsignedLines(theirs))
  if (clashes.length > 0)
    throw new SSError(`${what}: membership changed on both sides, and the changes collide: ${clashes.slice(0, 3).join('; ')}`, 'TEAM_CONFLICT', { hint: HINT })
  const epoch = Math.max(ours.epoch, theirs.epoch) + 1
  const header = `${TEAM_MAGIC} ${ours.teamId}`
  const merged = parseUnsigned(joinFile(header, [`epoch ${epoch}`, ...out.values()].sort(byteOrder), []), what)
  if (!identities) throw new SSError(`${what}: membership changed on both sides; merging it needs an admin's identity, and none was found`, 'TEAM_CONFLICT', { hint: HINT })
  let seed: Uint8Array
  try {
    seed = openKeyring(merged, identities, what).signingSeed()
  } catch (error) {
    throw new SSError(`${what}: membership changed on both sides; only an admin can merge it: ${(error as Error).message}`, 'TEAM_CONFLICT', { hint: HINT, cause: error })
  }
  signMembership(merged, seed)
  return { lines: signed(merged), resigned: true }
}

/**
 * Merges `ours` and `theirs` from their common `base`.
 * @param identities - an admin's identities, to merge membership changed on both sides
 * @param seen - this clone's memory: a side of another team than the one pinned here is refused
 * @throws {SSError} TEAM_CONFLICT (membership conflict, another team, sides that do not fit), NOT_A_STASH; {@link SSCryptoError} TEAM_TAMPERED, TEAM_REPLACED for a side that does not verify
 */
export function mergeTeamFiles(base: Uint8Array, ours: Uint8Array, theirs: Uint8Array, what: string, identities?: readonly Identity[], seen?: SeenStore, paths?: readonly string[]): MergeResult {
  const [oursFile, theirsFile] = [side(ours, 'our', what), side(theirs, 'their', what)]
  let baseFile: TeamFile | undefined
  try {
    baseFile = base.length > 0 ? parseTeamFile(base, what) : undefined
  } catch {
    // A base that does not verify only decides less: each change then counts as made on both sides.
    baseFile = undefined
  }
  if (oursFile.teamId !== theirsFile.teamId || teamFingerprint(oursFile) !== teamFingerprint(theirsFile))
    throw new SSError(`${what}: the two sides are different teams (fingerprints ${teamFingerprint(oursFile)} and ${teamFingerprint(theirsFile)})`, 'TEAM_CONFLICT')
  // Each side against its own history: ours is HEAD; theirs is the commit git merges in, when git names it.
  if (seen && paths) for (const [file, name, history] of [[oursFile, 'our', 'HEAD'], [theirsFile, 'their', mergedCommit() ?? 'HEAD']] as const) checkTrust(file, paths, seen, `${what} (${name} side)`, { allowOld: true, history })
  const membership = mergeMembership({ ...(baseFile ? { base: baseFile } : {}), ours: oursFile, theirs: theirsFile }, identities, what)
  const [b, o, t] = [valuesByKey(baseFile), valuesByKey(oursFile), valuesByKey(theirsFile)]
  const { out, clashes } = threeWay(b, o, t)
  const conflicts: string[][] = []
  for (const key of clashes) {
    if (key.startsWith('conflict ')) {
      // Both sides settled an older conflict differently: ours stands; the values decide.
      const mine = o.get(key)
      if (mine !== undefined) out.set(key, mine)
      continue
    }
    const enc = key.slice(6)
    const [mine, their] = [oursFile.values.get(enc) ?? oursFile.tombstones.get(enc), theirsFile.values.get(enc) ?? theirsFile.tombstones.get(enc)]
    // Removed on both sides, at two versions: removed, at the higher one.
    if (mine && their && !isValue(mine) && !isValue(their)) {
      out.set(key, valueLines('value', enc, mine.version >= their.version ? mine : their))
      continue
    }
    // A side without a record for a key path the other changed: only a hand-edited file has one.
    if (!mine || !their) throw new SSError(`${what}: ${formatKeyPath(decodePath(enc) as string[])} has no record on ${mine ? 'their' : 'our'} side`, 'TEAM_CONFLICT', { hint: HINT })
    conflicts.push(decodePath(enc) as string[])
    out.set(key, o.get(key) as string)
    out.set(`conflict ${enc}`, valueLines('conflict', enc, their))
  }
  const bytes = joinFile(`${TEAM_MAGIC} ${oursFile.teamId}`, membership.lines, [...out.values()])
  try {
    parseTeamFile(bytes, what)
  } catch (error) {
    throw new SSError(`${what}: the two sides' changes do not fit together: ${(error as Error).message}`, 'TEAM_CONFLICT', { cause: error, hint: HINT })
  }
  return { bytes, conflicts, membership: membership.resigned }
}

/** The conflicted key paths of a team stash, in the command-line spelling. */
export const conflictList = (file: TeamFile): string[] => inPathOrder(file.conflicts).map(([enc]) => formatKeyPath(decodePath(enc) as string[]))
