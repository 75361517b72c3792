/**
 * What `team ls`, `team exposed`, doctor and the diff driver show of a team stash, with no
 * identity: members with their scopes, values a removed member could read, and values set
 * under an old key that must be set again. Each one pass over the records.
 */
import { inPathOrder, isValue, type RemovalRecord, type ScopeRecord, type TeamFile, type TombstoneRecord, type ValueRecord } from './format.js'
import { scopesByMember } from './keyring.js'
import { recipientFingerprint } from './keys.js'

/** Every value (and conflicting side) set before its scope's newest rotation: a removed member could read it. */
export function exposedValues(file: TeamFile): ValueRecord[] {
  const out: ValueRecord[] = []
  for (const [, record] of [...inPathOrder(file.values), ...inPathOrder(file.conflicts)])
    if (isValue(record) && record.since < (file.scopes.get(record.scope) as ScopeRecord).gen) out.push(record)
  return out
}

/** The removals that exposed a value: those of its scope after it was set. */
export function exposedTo(file: TeamFile, value: ValueRecord): RemovalRecord[] {
  return [...file.removals.values()].filter((r) => r.scopes.some(([s, g]) => s === value.scope && g > value.since)).sort((a, b) => a.epoch - b.epoch)
}

/** Values set (or removed) under an older key than their scope's (on a branch cut before a removal, or by a removed member): refused until set again. */
export function staleValues(file: TeamFile): (ValueRecord | TombstoneRecord)[] {
  return inPathOrder(new Map<string, ValueRecord | TombstoneRecord>([...file.values, ...file.tombstones])).map(([, v]) => v).filter((v) => v.gen < (file.scopes.get(v.scope) as ScopeRecord).gen)
}

/** One member as `team ls` shows it. */
export interface MemberInfo {
  name: string
  fingerprint: string
  scopes: string[]
  admin: boolean
}

/** The members, with their key fingerprints and scopes, in name order. */
export function listMembers(file: TeamFile): MemberInfo[] {
  const scopes = scopesByMember(file)
  return [...file.members]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, recipient]) => ({ name, fingerprint: recipientFingerprint(recipient), scopes: (scopes.get(name) ?? []).sort(), admin: file.admins.has(name) }))
}
