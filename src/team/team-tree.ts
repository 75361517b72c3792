/**
 * A team file and the tree a member sees of it, both ways: the tree of every key path with the
 * values this member's keys open (decryptTree), the records after a changed tree replaced it
 * (applyTree), and the errors for a value the member cannot use (a scope they lack, a stale
 * key, an unresolved conflict). No file access: ./team-stash.ts reads and writes.
 */
import { SSCryptoError, SSError, SSKeyError } from '../errors.js'
import { formatKeyPath } from '../tree/key-path.js'
import { Tree, TreeNode } from '../tree/tree.js'
import { decodePath, encodePath, inPathOrder, isPrefix, isValue, scopeOf, type TeamFile, type TombstoneRecord, type ValueRecord } from './format.js'
import type { Keyring } from './keyring.js'
import type { PathVersions } from './path-versions.js'
import { sameBytes } from '../crypto/primitives.js'
import { checkTombstone, openValue, sealValue, tagTombstone } from './scope-keys.js'

/** A team stash read and opened: its records, this member's keys, and the tree of what they can read. */
export interface Opened {
  file: TeamFile
  ring: Keyring
  tree: Tree
  /** The decrypted bytes of each value in the tree, by encoded path: what an update compares with. */
  plain: Map<string, Uint8Array>
  /** Values (or removals) set under an older generation than their scope's, by encoded path: refused, to be set again. */
  stale: Map<string, ValueRecord | TombstoneRecord>
  /** Values (or removals) older than the version of their key path this clone has seen, by encoded path, with that version: refused. */
  replayed: Map<string, number>
  /** The versions of key paths this clone has seen; what a read verifies or a write writes is learnt. */
  versions: PathVersions
  /** Read records older than this clone has seen, knowingly (`--allow-old`). */
  allowOld: boolean
  /** Why the file is older than this clone has seen, when it was opened with allowOld. */
  old: string | undefined
  /** The bytes read: a change that leaves them as they were writes nothing. */
  bytes: Uint8Array
}

/** The removal that made the generation a stale value predates, as words. */
function staleCause(file: TeamFile, record: ValueRecord | TombstoneRecord): string {
  const removal = [...file.removals.values()].find((r) => r.scopes.some(([s, g]) => s === record.scope && g > record.gen))
  // Nobody holds the old key but whoever was removed, so such a record cannot be told apart from one planted by anyone: say all three.
  return removal
    ? `on a branch cut before the removal of ${removal.member} (${removal.date.slice(0, 10)}), by ${removal.member} after it, or planted by someone without the key`
    : 'on a branch cut before a removal, or planted by someone without the key'
}

/** The error for a value set (or removed) under an old key of its scope. */
function staleError(file: TeamFile, record: ValueRecord | TombstoneRecord): SSCryptoError {
  const scope = file.scopes.get(record.scope) as { gen: number }
  const verb = isValue(record) ? 'set' : 'removed'
  return new SSCryptoError(`key ${formatKeyPath(record.path)} was ${verb} under an old key of scope ${record.scope} (generation ${record.gen}, the scope is at ${scope.gen}): it was ${verb} ${staleCause(file, record)}; it must be set again`, 'TEAM_STALE', {
    hint: `a member of ${record.scope} checks the value and runs \`sstash set ${formatKeyPath(record.path)}\``,
  })
}

/** The error for a key path this clone has seen at `seen` whose record the file lacks, with no removal in its place. */
function droppedError(key: readonly string[], seen: number): SSCryptoError {
  return new SSCryptoError(`key ${formatKeyPath(key)} has no record in this file, and no removal, where this clone has seen version ${seen} of it: the record was taken out without the scope's key, or the file is a branch that never had it: merge the newer branch`, 'TEAM_ROLLBACK', {
    hint: '--allow-old reads the file knowingly as it is',
  })
}

/** The error for a record older than the version of its key path this clone has seen: a replay, or an old branch. */
export function replayError(record: ValueRecord | TombstoneRecord, seen: number): SSCryptoError {
  const key = formatKeyPath(record.path)
  const what = isValue(record) ? 'replaced by a newer value' : 'set again after this removal'
  return new SSCryptoError(`key ${key} was ${what} this clone has seen (version ${seen}; this file holds version ${record.version}): the file may be an old branch or a replay: merge the newer branch`, 'TEAM_ROLLBACK', {
    hint: `if the value was changed back on purpose (a git revert), a member of ${record.scope} checks it and runs \`sstash set ${key}\`; --allow-old reads it knowingly`,
  })
}

/** The highest version a record may carry (the field's limit in docs/TEAM.md). */
const MAX_VERSION = 2 ** 31 - 1

/**
 * The version a write of the key path spelt `enc` gets: one above any record of it in the file
 * under its scope's current key (which the write's read verified) and any this clone has seen.
 * A record under an old key was not verified (nobody holds that key but whoever was removed):
 * its version counts for nothing, or anyone could plant one at the limit and make every later
 * write of the key path one that no reader accepts.
 * @throws {SSError} BAD_VALUE when the version would pass the field's limit
 */
export function nextVersion(file: TeamFile, versions: PathVersions, enc: string): number {
  const current = (record: ValueRecord | TombstoneRecord | undefined): number => (record && record.gen === file.scopes.get(record.scope)?.gen ? record.version : 0)
  const next = Math.max(current(file.values.get(enc)), current(file.tombstones.get(enc)), current(file.conflicts.get(enc)), versions.seen(enc)) + 1
  if (next > MAX_VERSION) throw new SSError(`key ${formatKeyPath(decodePath(enc) ?? [])} is at the highest version a team stash can hold (${MAX_VERSION})`, 'BAD_VALUE')
  return next
}

/** The node at `path`, made on the way. */
function nodeAt(tree: Tree, path: readonly string[]): TreeNode {
  let node = tree.root
  for (const segment of path) {
    let next = node.children.get(segment)
    if (!next) node.children.set(segment, (next = new TreeNode()))
    node = next
  }
  return node
}

/** The error for a value this member cannot use: a scope they lack, or an unresolved conflict. */
function unreadable(file: TeamFile, ring: Keyring, path: readonly string[]): SSError {
  const enc = encodePath(path)
  const record = file.values.get(enc)
  if (record && ring.holds(record.scope) && record.gen < (file.scopes.get(record.scope)?.gen ?? 0)) return staleError(file, record)
  if (file.conflicts.has(enc))
    return new SSKeyError(`key ${formatKeyPath(path)} has an unresolved merge conflict`, path, 'TEAM_CONFLICT', {
      hint: `\`sstash team resolve ${enc.slice(1)} --ours\` (or --theirs) settles it, or \`sstash set\` a new value`,
    })
  const scope = file.values.get(enc)?.scope ?? scopeOf(file, path)?.name
  return new SSKeyError(`key ${formatKeyPath(path)} is in scope ${scope}, which ${ring.member} does not hold`, path, 'NO_ACCESS')
}

/**
 * The tree of every key path, with the values this member can read.
 * @param only - decrypt only the values below these keys (a read of them); every key path still gets its node
 */
export function decryptTree(file: TeamFile, ring: Keyring, only: readonly (readonly string[])[] | undefined, read: Pick<Opened, 'old' | 'bytes' | 'versions' | 'allowOld'>): Opened {
  const tree = new Tree()
  const plain = new Map<string, Uint8Array>()
  const stale = new Map<string, ValueRecord | TombstoneRecord>()
  const replayed = new Map<string, number>()
  const wanted = (path: readonly string[]): boolean => !only || only.some((key) => isPrefix(key, path))
  const genOf = (scope: string): number => (file.scopes.get(scope) as { gen: number }).gen
  // A verified record older than this clone has seen of its key path is not used (unless knowingly); a newer one is learnt.
  const older = (enc: string, record: ValueRecord | TombstoneRecord): boolean => {
    const seen = read.versions.seen(enc)
    if (record.version >= seen) {
      if (read.old === undefined) read.versions.learn(enc, record.version)
      return false
    }
    if (!read.allowOld) replayed.set(enc, seen)
    return !read.allowOld
  }
  // In key-path order, so that `ls` lists a team stash sorted, whatever the file's order.
  for (const [enc, record] of inPathOrder(file.values)) {
    const node = nodeAt(tree, record.path)
    if (!ring.holds(record.scope)) continue
    // Never opened, even though an old key might: a removed member holds that key too (docs/TEAM.md, Removal).
    if (record.gen < genOf(record.scope)) {
      stale.set(enc, record)
      continue
    }
    if (!wanted(record.path)) continue
    // Opened even in a conflict: a side that does not verify is tampered with, not a conflict to settle.
    const value = openValue(ring.key(record.scope), file.teamId, record)
    // Our side of a conflict too: one older than this clone has seen is a replay or an old branch,
    // whatever their side is (theirs may be older legitimately: a branch cut earlier).
    if (older(enc, record) || file.conflicts.has(enc)) continue
    node.value = value
    plain.set(enc, value)
  }
  for (const [enc, record] of file.tombstones) {
    if (!ring.holds(record.scope) || !wanted(record.path)) continue
    if (record.gen < genOf(record.scope)) stale.set(enc, record)
    else checkTombstone(ring.key(record.scope), file.teamId, record)
    if (stale.has(enc) || older(enc, record)) nodeAt(tree, record.path)
  }
  for (const [enc, side] of file.conflicts) {
    if (!file.values.has(enc)) nodeAt(tree, side.path)
    if (!ring.holds(side.scope) || !wanted(side.path)) continue
    // Their side under an old key is not offered for resolution: it is refused as any such record is.
    if (side.gen < genOf(side.scope)) {
      stale.set(enc, side)
      continue
    }
    if (isValue(side)) openValue(ring.key(side.scope), file.teamId, side)
    else checkTombstone(ring.key(side.scope), file.teamId, side)
  }
  return { file, ring, tree, plain, stale, replayed, ...read }
}

/** The team stash's records after `tree` replaced the decrypted one. @throws {SSError} NO_ACCESS, BAD_SCOPE */
export function applyTree({ file, ring, plain, versions }: Opened, tree: Tree): void {
  const kept = new Set<string>()
  // A value moved to another key path (`sstash mv`) keeps the generation it was set under, so it stays exposed.
  const moved = new Map<string, number>()
  for (const [enc, bytes] of plain) {
    const record = file.values.get(enc) as ValueRecord
    if (tree.find(record.path)?.value === undefined) moved.set(`${record.scope} ${Buffer.from(bytes).toString('base64')}`, record.since)
  }
  for (const entry of tree.entries([])) {
    const enc = encodePath(entry.key)
    kept.add(enc)
    const old = plain.get(enc)
    if (old && sameBytes(old, entry.value)) continue
    const scope = scopeOf(file, entry.key)
    if (!scope)
      throw new SSError(`no scope holds key ${formatKeyPath(entry.key)}`, 'BAD_SCOPE', { hint: `the scopes are ${[...file.scopes.values()].map((s) => encodePath(s.prefix)).join(', ')}` })
    if (!ring.holds(scope.name)) throw unreadable(file, ring, entry.key)
    const since = old ? scope.gen : (moved.get(`${scope.name} ${Buffer.from(entry.value).toString('base64')}`) ?? scope.gen)
    const version = nextVersion(file, versions, enc)
    const record: ValueRecord = sealValue(ring.key(scope.name), file.teamId, { path: entry.key, scope: scope.name, gen: scope.gen, since, version }, entry.value)
    versions.learn(enc, version)
    file.values.set(enc, record)
    file.tombstones.delete(enc)
    file.conflicts.delete(enc)
  }
  for (const enc of new Set([...file.values.keys(), ...file.conflicts.keys()])) {
    if (kept.has(enc)) continue
    const path = decodePath(enc) as string[]
    // A readable value gone from the tree was removed (or moved): its record goes.
    if (!plain.has(enc)) {
      if (tree.find(path)) continue
      // A value this member could not read, or one in conflict, was removed: only in a scope they hold.
      if (!ring.holds(scopeOf(file, path)?.name ?? '')) throw unreadable(file, ring, path)
    }
    const scope = scopeOf(file, path) as { name: string; gen: number }
    const version = nextVersion(file, versions, enc)
    file.tombstones.set(enc, tagTombstone(ring.key(scope.name), file.teamId, { path, scope: scope.name, gen: scope.gen, version }))
    versions.learn(enc, version)
    file.values.delete(enc)
    file.conflicts.delete(enc)
  }
}

/**
 * Throws the error a read of `keys` must give when one of them is a value this member cannot
 * read, or a subtree holding only such values (a scope they lack), or a key path whose record
 * is older than this clone has seen, or gone with no removal in its place.
 * @throws {SSKeyError} NO_ACCESS or TEAM_CONFLICT; {@link SSCryptoError} TEAM_STALE, TEAM_ROLLBACK
 */
export function checkReadable({ file, ring, tree, stale, replayed, versions, allowOld }: Opened, keys: readonly (readonly string[])[]): void {
  for (const key of keys) {
    const enc = encodePath(key)
    // A key path this clone has read or written has a record, or a removal's, in every later file.
    const recordless = !allowOld && key.length > 0 && !file.values.has(enc) && !file.tombstones.has(enc) && !file.conflicts.has(enc)
    const remembered = recordless ? versions.seen(enc) : 0
    if (remembered > 0) throw droppedError(key, remembered)
    const node = tree.find(key)
    if (!node) continue
    const under = (p: string): boolean => p === enc || p.startsWith(enc === '/' ? '/' : `${enc}/`)
    const record = (p: string): ValueRecord | TombstoneRecord => (file.values.get(p) ?? file.tombstones.get(p)) as ValueRecord | TombstoneRecord
    for (const [p, old] of stale) if (under(p)) throw staleError(file, old)
    for (const [p, seen] of replayed) if (under(p)) throw replayError(record(p), seen)
    if (node.value !== undefined) continue
    const below = [...file.values.keys(), ...file.conflicts.keys()].filter(under)
    if (below.length > 0 && tree.entries(key).length === 0) throw unreadable(file, ring, file.values.get(below[0] as string)?.path ?? key)
  }
}
