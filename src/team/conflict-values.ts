/**
 * Both sides' values of one key path in merge conflict, opened with a member's identity: what
 * `sstash team resolve <keypath> --show` prints on a terminal. The file is checked as every
 * open checks it (signed membership, this clone's memory of the team); a side this member may
 * not read (a scope they lack, a value set under an old key of its scope, which a removed
 * member could have set) is named as such and never opened.
 */
import { SSError } from '../errors.js'
import { resolveStashPath } from '../fs/read.js'
import { formatKeyPath } from '../tree/key-path.js'
import type { Identity } from './age-file.js'
import { encodePath, isValue, type TeamFile, type TombstoneRecord, type ValueRecord } from './format.js'
import type { Keyring } from './keyring.js'
import { checkTombstone, openValue } from './scope-keys.js'
import { checkedFile } from './team-stash.js'

type Env = Record<string, string | undefined>

/** One side of a conflict: its value, its removal, or why this member cannot open it. */
export type ConflictValue = { state: 'value'; value: Uint8Array } | { state: 'removed' } | { state: 'closed'; why: string }

/** One side's record opened, or the reason it is not. */
function openSide(file: TeamFile, ring: Keyring, record: ValueRecord | TombstoneRecord | undefined): ConflictValue {
  if (!record) return { state: 'removed' }
  if (!ring.holds(record.scope)) return { state: 'closed', why: `it is in scope ${record.scope}, which ${ring.member} does not hold` }
  const gen = file.scopes.get(record.scope)?.gen ?? 0
  if (record.gen < gen) return { state: 'closed', why: `it was ${isValue(record) ? 'set' : 'removed'} under an old key of scope ${record.scope} (generation ${record.gen}, the scope is at ${gen}), which a removed member holds too` }
  if (!isValue(record)) {
    checkTombstone(ring.key(record.scope), file.teamId, record)
    return { state: 'removed' }
  }
  return { state: 'value', value: openValue(ring.key(record.scope), file.teamId, record) }
}

/**
 * Opens our side and their side of the conflict at `key` in the team stash at `path`.
 * @param identities - the member's identities (loadIdentities)
 * @throws {SSError} KEY_NOT_FOUND when `key` has no conflict; as TeamStash.open (NOT_A_MEMBER, TEAM_TAMPERED, TEAM_REPLACED, TEAM_ROLLBACK)
 */
export async function conflictValues(path: string, key: readonly string[], identities: readonly Identity[], env: Env = process.env): Promise<{ member: string; ours: ConflictValue; theirs: ConflictValue }> {
  const { file, ring, save } = checkedFile(resolveStashPath(path), path, identities, env)
  await save()
  const enc = encodePath(key)
  if (!file.conflicts.has(enc)) throw new SSError(`key ${formatKeyPath(key)} has no merge conflict`, 'KEY_NOT_FOUND', { hint: '`sstash team resolve --show` lists the conflicts' })
  return { member: ring.member, ours: openSide(file, ring, file.values.get(enc) ?? file.tombstones.get(enc)), theirs: openSide(file, ring, file.conflicts.get(enc)) }
}
