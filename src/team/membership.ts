/**
 * Who holds which scope: creating a team stash, adding a member, removing one (which rotates
 * every scope they had), and what `team ls` and `team exposed` show. Each change re-signs the
 * scopes it touches with their MACs (docs/TEAM.md, Membership authentication).
 */
import { SSError } from '../errors.js'
import { ageEncrypt } from './age-file.js'
import { checkName, encodePath, inPathOrder, serializeTeamFile, type ScopeRecord, type TeamFile, type ValueRecord } from './format.js'
import { Keyring, membersOf } from './keyring.js'
import { parseRecipient, recipientFingerprint } from './keys.js'
import { b64, randomBytes } from './primitives.js'
import { fingerprintOf, newScopeKey, scopeMac, sealChain } from './scope-keys.js'
import { SeenStore } from './seen.js'
import type { TeamStash } from './team-stash.js'

type Env = Record<string, string | undefined>

/** A scope as `--scope name=prefix` gives it. */
export interface ScopeSpec {
  name: string
  prefix: string[]
}

async function wrapTo(key: Uint8Array, recipient: string): Promise<string> {
  return b64(await ageEncrypt(key, [parseRecipient(recipient)]))
}

/** Recomputes a scope's MAC after its members or generation changed. */
function resign(file: TeamFile, scope: ScopeRecord, key: Uint8Array): void {
  scope.fingerprint = fingerprintOf(key)
  scope.mac = scopeMac(key, file.teamId, scope, membersOf(file, scope.name))
}

/**
 * Writes a new team stash whose first member, `member`, holds every scope.
 * @throws {SSError} STASH_EXISTS, BAD_SCOPE (two scopes with one name or one prefix)
 */
export async function createTeam(path: string, member: string, recipient: string, scopes: readonly ScopeSpec[], env: Env = process.env): Promise<void> {
  checkName(member, 'member')
  const file: TeamFile = {
    teamId: Buffer.from(randomBytes(16)).toString('base64url'),
    members: new Map([[member, parseRecipient(recipient).text]]),
    scopes: new Map(),
    wraps: new Map(),
    chains: new Map(),
    values: new Map(),
    conflicts: new Map(),
  }
  const seen = SeenStore.load(env)
  for (const spec of scopes.length > 0 ? scopes : [{ name: 'default', prefix: [] }]) {
    checkName(spec.name, 'scope')
    if (file.scopes.has(spec.name)) throw new SSError(`scope ${spec.name} is given twice`, 'BAD_SCOPE')
    if ([...file.scopes.values()].some((s) => encodePath(s.prefix) === encodePath(spec.prefix))) throw new SSError(`two scopes have the prefix ${encodePath(spec.prefix)}`, 'BAD_SCOPE')
    const key = newScopeKey()
    const scope: ScopeRecord = { name: spec.name, prefix: spec.prefix, gen: 1, fingerprint: '', mac: '' }
    file.scopes.set(spec.name, scope)
    file.wraps.set(`${spec.name} ${member}`, { scope: spec.name, gen: 1, member, file: await wrapTo(key, recipient) })
    resign(file, scope, key)
    seen.set(file.teamId, spec.name, { gen: 1, fingerprint: scope.fingerprint })
  }
  const { writeAtomic } = await import('../store/write.js')
  await writeAtomic(path, serializeTeamFile(file), { exclusive: true })
  await seen.save()
}

function heldScopes(ring: Keyring, wanted: readonly string[] | undefined, file: TeamFile): string[] {
  const names = wanted && wanted.length > 0 ? [...wanted] : [...file.scopes.keys()]
  for (const name of names) {
    if (!file.scopes.has(name)) throw new SSError(`there is no scope ${name}`, 'BAD_SCOPE', { hint: `the scopes are ${[...file.scopes.keys()].join(', ')}` })
    if (!ring.holds(name)) throw new SSError(`you (${ring.member}) do not hold scope ${name}, so you cannot give it`, 'NO_ACCESS')
  }
  return names
}

/**
 * Adds a member with the given scopes (default: every scope), or gives an existing member more scopes.
 * @returns the scopes the member holds now
 * @throws {SSError} MEMBER_EXISTS (same name, another key; or that key is another member), BAD_SCOPE, NO_ACCESS, BAD_RECIPIENT
 */
export async function addMember(stash: TeamStash, name: string, recipientText: string | undefined, scopes?: readonly string[]): Promise<string[]> {
  checkName(name, 'member')
  return stash.mutate(async ({ file, ring }) => {
    const existing = file.members.get(name)
    if (recipientText === undefined && existing === undefined) throw new SSError(`member ${name} is new: give their public key with --key`, 'USAGE')
    const recipient = recipientText === undefined ? (existing as string) : parseRecipient(recipientText).text
    if (existing !== undefined && existing !== recipient) throw new SSError(`member ${name} already exists with another key`, 'MEMBER_EXISTS', { hint: `\`sstash team rm ${name}\` first to replace the key` })
    const other = [...file.members].find(([n, r]) => r === recipient && n !== name)
    if (other) throw new SSError(`that key already belongs to member ${other[0]}`, 'MEMBER_EXISTS')
    file.members.set(name, recipient)
    for (const scopeName of heldScopes(ring, scopes, file)) {
      const scope = file.scopes.get(scopeName) as ScopeRecord
      if (file.wraps.has(`${scopeName} ${name}`)) continue
      const key = ring.keyAt(scopeName, scope.gen)
      file.wraps.set(`${scopeName} ${name}`, { scope: scopeName, gen: scope.gen, member: name, file: await wrapTo(key, recipient) })
      resign(file, scope, key)
    }
    return [...file.wraps.values()].filter((w) => w.member === name).map((w) => w.scope).sort()
  })
}

/** What a removal did. */
export interface Removal {
  /** The scopes that got a new key. */
  rotated: string[]
  /** The key paths the removed member could read that nobody has set since. */
  exposed: string[][]
}

/**
 * Removes a member and rotates every scope they held: a new key generation, chained to the
 * old one, wrapped to each remaining member. Values are not re-encrypted: the removed member
 * could already read them, so they are listed as exposed until set again.
 * @throws {SSError} MEMBER_NOT_FOUND, NO_ACCESS (the remover lacks one of the member's scopes), USAGE (removing oneself)
 */
export async function removeMember(stash: TeamStash, name: string, env: Env = process.env): Promise<Removal> {
  const removal = await stash.mutate(async ({ file, ring }) => {
    if (!file.members.has(name)) throw new SSError(`there is no member ${name}`, 'MEMBER_NOT_FOUND', { hint: '`sstash team ls` lists the members' })
    if (name === ring.member) throw new SSError('you cannot remove yourself', 'USAGE', { hint: 'another member runs `sstash team rm` for you' })
    const theirs = [...file.wraps.values()].filter((w) => w.member === name).map((w) => w.scope)
    for (const scope of theirs) if (!ring.holds(scope)) throw new SSError(`${name} holds scope ${scope}, which you (${ring.member}) do not; a member who holds it must remove them`, 'NO_ACCESS')
    file.members.delete(name)
    for (const scopeName of theirs) {
      const scope = file.scopes.get(scopeName) as ScopeRecord
      const old = ring.keyAt(scopeName, scope.gen)
      const key = newScopeKey()
      scope.gen += 1
      file.chains.set(`${scopeName} ${scope.gen}`, sealChain(key, old, file.teamId, scopeName, scope.gen))
      file.wraps.delete(`${scopeName} ${name}`)
      for (const [member, recipient] of membersOf(file, scopeName))
        file.wraps.set(`${scopeName} ${member}`, { scope: scopeName, gen: scope.gen, member, file: await wrapTo(key, recipient) })
      ring.setCurrent(scopeName, scope.gen, key)
      resign(file, scope, key)
    }
    const now = theirs.map((scope) => ({ scope, ...(file.scopes.get(scope) as ScopeRecord), teamId: file.teamId }))
    return { rotated: theirs, exposed: exposedValues(file).filter((v) => theirs.includes(v.scope)).map((v) => v.path), now }
  })
  // Remembered after the write: this clone has seen the new generations, so the old ones are a rollback.
  const seen = SeenStore.load(env)
  for (const scope of removal.now) seen.set(scope.teamId, scope.scope, { gen: scope.gen, fingerprint: scope.fingerprint })
  await seen.save()
  return { rotated: removal.rotated, exposed: removal.exposed }
}

/** Every value (and conflicting side) set before its scope's newest rotation: a removed member could read it. */
export function exposedValues(file: TeamFile): ValueRecord[] {
  const out: ValueRecord[] = []
  for (const [, record] of [...inPathOrder(file.values), ...inPathOrder(file.conflicts)])
    if (record && record.since < (file.scopes.get(record.scope) as ScopeRecord).gen) out.push(record)
  return out
}

/** One member as `team ls` shows it. */
export interface MemberInfo {
  name: string
  fingerprint: string
  scopes: string[]
}

/** The members, with their key fingerprints and scopes, in name order. */
export function listMembers(file: TeamFile): MemberInfo[] {
  return [...file.members]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, recipient]) => ({
      name,
      fingerprint: recipientFingerprint(recipient),
      scopes: [...file.wraps.values()].filter((w) => w.member === name).map((w) => w.scope).sort(),
    }))
}

/**
 * Settles a merge conflict at `path`: keeps our value, or takes theirs.
 * @throws {SSError} KEY_NOT_FOUND when the path has no conflict
 */
export async function resolveConflict(stash: TeamStash, path: readonly string[], side: 'ours' | 'theirs'): Promise<void> {
  await stash.mutate(({ file }) => {
    const enc = encodePath(path)
    if (!file.conflicts.has(enc)) throw new SSError(`key ${JSON.stringify(path)} has no merge conflict`, 'KEY_NOT_FOUND', { hint: '`sstash team resolve` lists the conflicts' })
    const theirs = file.conflicts.get(enc)
    file.conflicts.delete(enc)
    if (side === 'ours') return
    if (theirs) file.values.set(enc, theirs)
    else file.values.delete(enc)
  })
}
