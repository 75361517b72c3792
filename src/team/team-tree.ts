/**
 * A team file and the tree a member sees of it, both ways: the tree of every key path with the
 * values this member's keys open (decryptTree), the records after a changed tree replaced it
 * (applyTree), and the errors for a value the member cannot use (a scope they lack, a stale
 * key, an unresolved conflict). No file access: ./team-stash.ts reads and writes.
 */
import { SSCryptoError, SSError, SSKeyError } from '../errors.js'
import { formatKeyPath } from '../tree/key-path.js'
import { Tree, TreeNode } from '../tree/tree.js'
import { decodePath, encodePath, inPathOrder, isPrefix, scopeOf, type TeamFile, type ValueRecord } from './format.js'
import type { Keyring } from './keyring.js'
import { sameBytes } from '../crypto/primitives.js'
import { openValue, sealValue } from './scope-keys.js'

/** A team stash read and opened: its records, this member's keys, and the tree of what they can read. */
export interface Opened {
  file: TeamFile
  ring: Keyring
  tree: Tree
  /** The decrypted bytes of each value in the tree, by encoded path: what an update compares with. */
  plain: Map<string, Uint8Array>
  /** Values set under an older generation than their scope's, by encoded path: refused, to be set again. */
  stale: Set<string>
  /** Why the file is older than this clone has seen, when it was opened with allowOld. */
  old: string | undefined
  /** The bytes read: a change that leaves them as they were writes nothing. */
  bytes: Uint8Array
}

/** The removal that made the generation a stale value predates, as words. */
function staleCause(file: TeamFile, record: ValueRecord): string {
  const removal = [...file.removals.values()].find((r) => r.scopes.some(([s, g]) => s === record.scope && g > record.gen))
  return removal ? `on a branch cut before the removal of ${removal.member} (${removal.date.slice(0, 10)}), or by ${removal.member} after it` : 'on a branch cut before a removal'
}

/** The error for a value set under an old key of its scope. */
function staleError(file: TeamFile, record: ValueRecord): SSCryptoError {
  const scope = file.scopes.get(record.scope) as { gen: number }
  return new SSCryptoError(`key ${formatKeyPath(record.path)} was set under an old key of scope ${record.scope} (generation ${record.gen}, the scope is at ${scope.gen}): it was set ${staleCause(file, record)}; it must be set again`, 'TEAM_STALE', {
    hint: `a member of ${record.scope} checks the value and runs \`sstash set ${formatKeyPath(record.path)}\``,
  })
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
export function decryptTree(file: TeamFile, ring: Keyring, only: readonly (readonly string[])[] | undefined, read: Pick<Opened, 'old' | 'bytes'>): Opened {
  const tree = new Tree()
  const plain = new Map<string, Uint8Array>()
  const stale = new Set<string>()
  // In key-path order, so that `ls` lists a team stash sorted, whatever the file's order.
  for (const [enc, record] of inPathOrder(file.values)) {
    const node = nodeAt(tree, record.path)
    if (!ring.holds(record.scope) || file.conflicts.has(enc)) continue
    // Never opened, even though an old key might: a removed member holds that key too (docs/TEAM.md, Removal).
    if (record.gen < (file.scopes.get(record.scope) as { gen: number }).gen) {
      stale.add(enc)
      continue
    }
    if (only && !only.some((key) => isPrefix(key, record.path))) continue
    node.value = openValue(ring.key(record.scope), file.teamId, record)
    plain.set(enc, node.value)
  }
  for (const [enc, record] of file.conflicts) if (!file.values.has(enc) && record) nodeAt(tree, record.path)
  return { file, ring, tree, plain, stale, ...read }
}

/** The team stash's records after `tree` replaced the decrypted one. @throws {SSError} NO_ACCESS, BAD_SCOPE */
export function applyTree({ file, ring, plain }: Opened, tree: Tree): void {
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
    const record: ValueRecord = sealValue(ring.key(scope.name), file.teamId, { path: entry.key, scope: scope.name, gen: scope.gen, since }, entry.value)
    file.values.set(enc, record)
    file.tombstones.delete(enc)
    file.conflicts.delete(enc)
  }
  for (const enc of new Set([...file.values.keys(), ...file.conflicts.keys()])) {
    if (kept.has(enc)) continue
    // A readable value gone from the tree was removed (or moved): its record goes.
    if (plain.has(enc)) {
      file.values.delete(enc)
      file.tombstones.add(enc)
      continue
    }
    const path = decodePath(enc) as string[]
    if (tree.find(path)) continue
    // A value this member could not read, or one in conflict, was removed: only in a scope they hold.
    if (!ring.holds(scopeOf(file, path)?.name ?? '')) throw unreadable(file, ring, path)
    if (file.values.delete(enc)) file.tombstones.add(enc)
    file.conflicts.delete(enc)
  }
}

/**
 * Throws the error a read of `keys` must give when one of them is a value this member cannot
 * read, or a subtree holding only such values (a scope they lack).
 * @throws {SSKeyError} NO_ACCESS or TEAM_CONFLICT
 */
export function checkReadable({ file, ring, tree, stale }: Opened, keys: readonly (readonly string[])[]): void {
  for (const key of keys) {
    const node = tree.find(key)
    if (!node) continue
    const enc = encodePath(key)
    const under = (p: string): boolean => p === enc || p.startsWith(enc === '/' ? '/' : `${enc}/`)
    for (const p of stale) if (under(p)) throw staleError(file, file.values.get(p) as ValueRecord)
    if (node.value !== undefined) continue
    const below = [...file.values.keys(), ...file.conflicts.keys()].filter(under)
    if (below.length > 0 && tree.entries(key).length === 0) throw unreadable(file, ring, file.values.get(below[0] as string)?.path ?? key)
  }
}
