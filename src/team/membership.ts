/**
 * Who holds which scope, and who may change that: creating a team stash (its creator is its
 * first admin), adding a member or an admin, removing one (which rotates every scope they had
 * and encrypts the scope's values again, and rotates the signing key when they were an admin).
 * Only admins change membership; each change raises the epoch and signs the membership again
 * (docs/TEAM.md, Admins).
 */
import { SSError } from '../errors.js'
import { ageEncrypt } from './age-file.js'
import { checkName, emptyTeamFile, encodePath, isValue, serializeTeamFile, type RemovalRecord, type ScopeRecord, type TeamFile, type TombstoneRecord, type ValueRecord } from './format.js'
import { Keyring, membersOf } from './keyring.js'
import { parseRecipient } from './keys.js'
import { exposedValues } from './listing.js'
import { b64, randomBytes } from '../crypto/primitives.js'
import { checkTombstone, fingerprintOf, newScopeKey, openValue, sealValue, tagTombstone } from './scope-keys.js'
import { SeenStore } from './seen.js'
import { endorsementMessage, newSigningKey, signBytes, signMembership, signingKeyFingerprint } from './signing.js'
import { realPathOf, type TeamStash } from './team-stash.js'
import { nextVersion, replayError } from './team-tree.js'
import { remember } from './trust.js'

export { exposedValues, listMembers, staleValues, type MemberInfo } from './listing.js'

type Env = Record<string, string | undefined>

/** A scope as `--scope name=prefix` gives it. */
export interface ScopeSpec {
  name: string
  prefix: string[]
}

async function wrapTo(key: Uint8Array, recipient: string): Promise<string> {
  return b64(await ageEncrypt(key, [parseRecipient(recipient)]))
}

/** Remembers the file as written, so that this clone refuses anything older from now on. */
async function pin(file: TeamFile, path: string, env: Env): Promise<void> {
  const seen = SeenStore.load(env)
  remember(file, realPathOf(path), seen)
  await seen.save()
}

/**
 * Writes a new team stash whose first member, `member`, is its admin and holds every scope.
 * @throws {SSError} STASH_EXISTS, BAD_SCOPE (two scopes with one name or one prefix)
 */
export async function createTeam(path: string, member: string, recipient: string, scopes: readonly ScopeSpec[], env: Env = process.env): Promise<void> {
  checkName(member, 'member')
  const file = emptyTeamFile(Buffer.from(randomBytes(16)).toString('base64url'))
  const text = parseRecipient(recipient).text
  file.members.set(member, text)
  file.admins.add(member)
  const signing = newSigningKey()
  file.signKeys.set(1, { gen: 1, publicKey: signing.publicKey, endorsement: '-' })
  file.signWraps.set(member, { admin: member, gen: 1, file: await wrapTo(signing.seed, text) })
  for (const spec of scopes.length > 0 ? scopes : [{ name: 'default', prefix: [] }]) {
    checkName(spec.name, 'scope')
    if (file.scopes.has(spec.name)) throw new SSError(`scope ${spec.name} is given twice`, 'BAD_SCOPE')
    if ([...file.scopes.values()].some((s) => encodePath(s.prefix) === encodePath(spec.prefix))) throw new SSError(`two scopes have the prefix ${encodePath(spec.prefix)}`, 'BAD_SCOPE')
    const key = newScopeKey()
    file.scopes.set(spec.name, { name: spec.name, prefix: spec.prefix, gen: 1, fingerprint: fingerprintOf(key) })
    file.wraps.set(`${spec.name} ${member}`, { scope: spec.name, gen: 1, member, file: await wrapTo(key, text) })
  }
  signMembership(file, signing.seed)
  const { writeAtomic } = await import('../fs/write.js')
  await writeAtomic(path, serializeTeamFile(file), { exclusive: true })
  await pin(file, path, env)
}

function heldScopes(ring: Keyring, wanted: readonly string[] | undefined, file: TeamFile, admin: boolean): string[] {
  const names = wanted && wanted.length > 0 ? [...wanted] : admin ? [] : [...file.scopes.keys()].filter((name) => ring.holds(name))
  for (const name of names) {
    if (!file.scopes.has(name)) throw new SSError(`there is no scope ${name}`, 'BAD_SCOPE', { hint: `the scopes are ${[...file.scopes.keys()].join(', ')}` })
    if (!ring.holds(name)) throw new SSError(`you (${ring.member}) do not hold scope ${name}, so you cannot give it`, 'NO_ACCESS')
  }
  return names
}

/** Raises the epoch and signs the membership with the admin's signing key. */
function resign(file: TeamFile, ring: Keyring): void {
  file.epoch += 1
  signMembership(file, ring.signingSeed())
}

/**
 * Adds a member with the given scopes (default: every scope the admin holds, or none when
 * making an admin), gives an existing member more scopes, or makes them an admin. Admins only.
 * @returns the scopes the member holds now
 * @throws {SSError} NOT_ADMIN, MEMBER_EXISTS (same name, another key; or that key is another member), BAD_SCOPE, NO_ACCESS, BAD_RECIPIENT
 */
export async function addMember(stash: TeamStash, name: string, recipientText: string | undefined, scopes?: readonly string[], options: { admin?: boolean } = {}): Promise<string[]> {
  checkName(name, 'member')
  const result = await stash.mutate(async ({ file, ring }) => {
    const seed = ring.signingSeed()
    const existing = file.members.get(name)
    if (recipientText === undefined && existing === undefined) throw new SSError(`member ${name} is new: give their public key with --key`, 'USAGE')
    const recipient = recipientText === undefined ? (existing as string) : parseRecipient(recipientText).text
    if (existing !== undefined && existing !== recipient) throw new SSError(`member ${name} already exists with another key`, 'MEMBER_EXISTS', { hint: `\`sstash team rm ${name}\` first to replace the key` })
    const other = [...file.members].find(([n, r]) => r === recipient && n !== name)
    if (other) throw new SSError(`that key already belongs to member ${other[0]}`, 'MEMBER_EXISTS')
    file.members.set(name, recipient)
    for (const scopeName of heldScopes(ring, scopes, file, options.admin === true)) {
      const scope = file.scopes.get(scopeName) as ScopeRecord
      if (file.wraps.has(`${scopeName} ${name}`)) continue
      file.wraps.set(`${scopeName} ${name}`, { scope: scopeName, gen: scope.gen, member: name, file: await wrapTo(ring.key(scopeName), recipient) })
    }
    if (options.admin && !file.admins.has(name)) {
      file.admins.add(name)
      file.signWraps.set(name, { admin: name, gen: file.signKeys.size, file: await wrapTo(seed, recipient) })
    }
    if (!file.admins.has(name) && ![...file.wraps.values()].some((w) => w.member === name)) throw new SSError(`member ${name} would hold no scope`, 'USAGE', { hint: 'give a scope with --scope, or make them an admin with --admin' })
    resign(file, ring)
    return { file, scopes: [...file.wraps.values()].filter((w) => w.member === name).map((w) => w.scope).sort() }
  })
  await pin(result.file, stash.path, stash.env)
  return result.scopes
}

/** What a removal did. */
export interface Removal {
  /** The scopes that got a new key. */
  rotated: string[]
  /** The key paths the removed member could read that nobody has set since. */
  exposed: string[][]
  /** When the member was an admin: the new signing key's fingerprint ({@link signingKeyFingerprint}), which CI pins from now on. */
  signingKey?: string
}

/** `record` (a value or a tombstone, verified under `from`) under key `to` at generation `gen`, with `version`. */
function reseal(file: TeamFile, record: ValueRecord | TombstoneRecord, from: Uint8Array, to: Uint8Array, gen: number, version: number): ValueRecord | TombstoneRecord {
  const fields = { path: record.path, scope: record.scope, gen, version }
  if (isValue(record)) return sealValue(to, file.teamId, { ...fields, since: record.since }, openValue(from, file.teamId, record))
  checkTombstone(from, file.teamId, record)
  return tagTombstone(to, file.teamId, fields)
}

/** Rotates one scope: a new key wrapped to the remaining holders, and every current value and removal sealed again under it (keeping `since` and the version). */
async function rotateScope(file: TeamFile, ring: Keyring, scope: ScopeRecord): Promise<void> {
  const old = ring.key(scope.name)
  const key = newScopeKey()
  const gen = scope.gen + 1
  for (const [member, recipient] of membersOf(file, scope.name)) file.wraps.set(`${scope.name} ${member}`, { scope: scope.name, gen, member, file: await wrapTo(key, recipient) })
  // Only records of the current generation: an older one may be a removed member's write, never laundered.
  for (const map of [file.values, file.tombstones, file.conflicts] as Map<string, ValueRecord | TombstoneRecord>[])
    for (const [enc, v] of map) if (v.scope === scope.name && v.gen === scope.gen) map.set(enc, reseal(file, v, old, key, gen, v.version))
  scope.gen = gen
  scope.fingerprint = fingerprintOf(key)
  ring.setCurrent(scope.name, key)
}

/** Rotates the signing key after an admin left: a new key endorsed by the old one, wrapped to the remaining admins. */
async function rotateSigning(file: TeamFile, ring: Keyring): Promise<void> {
  const old = ring.signingSeed()
  const next = newSigningKey()
  const gen = file.signKeys.size + 1
  file.signKeys.set(gen, { gen, publicKey: next.publicKey, endorsement: signBytes(old, endorsementMessage(file.teamId, gen, next.publicKey)) })
  for (const admin of file.admins) file.signWraps.set(admin, { admin, gen, file: await wrapTo(next.seed, file.members.get(admin) as string) })
  ring.setSigningSeed(next.seed)
}

/**
 * Removes a member: rotates every scope they held (a new key, every value encrypted again under
 * it) and, for an admin, the signing key; records the removal, signed. Admins only, holding
 * every scope the member had.
 * @throws {SSError} NOT_ADMIN, MEMBER_NOT_FOUND, NO_ACCESS (the remover lacks one of the member's scopes), USAGE (removing oneself)
 */
export async function removeMember(stash: TeamStash, name: string, env: Env = stash.env, now = new Date()): Promise<Removal> {
  const removal = await stash.mutate(async ({ file, ring }) => {
    ring.signingSeed()
    if (!file.members.has(name)) throw new SSError(`there is no member ${name}`, 'MEMBER_NOT_FOUND', { hint: '`sstash team ls` lists the members' })
    if (name === ring.member) throw new SSError('you cannot remove yourself', 'USAGE', { hint: 'another admin runs `sstash team rm` for you' })
    const theirs = [...file.wraps.values()].filter((w) => w.member === name).map((w) => w.scope).sort()
    for (const scope of theirs) if (!ring.holds(scope)) throw new SSError(`${name} holds scope ${scope}, which you (${ring.member}) do not; an admin who holds it must remove them`, 'NO_ACCESS')
    file.members.delete(name)
    for (const scope of theirs) file.wraps.delete(`${scope} ${name}`)
    for (const scope of theirs) await rotateScope(file, ring, file.scopes.get(scope) as ScopeRecord)
    const wasAdmin = file.admins.delete(name)
    file.signWraps.delete(name)
    if (wasAdmin) await rotateSigning(file, ring)
    const record: RemovalRecord = { epoch: file.epoch + 1, member: name, date: now.toISOString().replace(/\.\d{3}Z$/, 'Z'), scopes: theirs.map((s) => [s, (file.scopes.get(s) as ScopeRecord).gen]) }
    file.removals.set(`${record.epoch} ${name}`, record)
    resign(file, ring)
    return { file, rotated: theirs, signingKey: wasAdmin ? signingKeyFingerprint(file) : undefined, exposed: exposedValues(file).filter((v) => theirs.includes(v.scope)).map((v) => v.path) }
  })
  // Remembered after the write: this clone has seen the removal, so a file from before it is old.
  await pin(removal.file, stash.path, env)
  return { rotated: removal.rotated, exposed: removal.exposed, ...(removal.signingKey === undefined ? {} : { signingKey: removal.signingKey }) }
}

/**
 * Settles a merge conflict at `path`: keeps our value, or takes theirs, sealed again at a version
 * above both sides (a clone that saw either side's version then takes it). A side set under an
 * old key of its scope is kept as it is, never sealed again: it stays refused until set again.
 * @throws {SSError} KEY_NOT_FOUND when the path has no conflict; NO_ACCESS outside the member's scopes
 */
export async function resolveConflict(stash: TeamStash, path: readonly string[], side: 'ours' | 'theirs'): Promise<void> {
  await stash.mutate(({ file, ring, versions, replayed }) => {
    const enc = encodePath(path)
    const theirs = file.conflicts.get(enc)
    if (!theirs) throw new SSError(`key ${JSON.stringify(path)} has no merge conflict`, 'KEY_NOT_FOUND', { hint: '`sstash team resolve` lists the conflicts' })
    // Our side older than this clone has seen is never sealed again as the newest (the read refuses it too).
    const seen = replayed.get(enc)
    if (side === 'ours' && seen !== undefined) throw replayError(file.values.get(enc) ?? (file.tombstones.get(enc) as TombstoneRecord), seen)
    const kept = side === 'ours' ? (file.values.get(enc) ?? file.tombstones.get(enc)) : theirs
    const version = nextVersion(file, versions, enc)
    file.conflicts.delete(enc)
    file.values.delete(enc)
    file.tombstones.delete(enc)
    if (!kept) return
    const scope = file.scopes.get(kept.scope) as ScopeRecord
    const current = kept.gen === scope.gen
    if (current && !ring.holds(kept.scope)) throw new SSError(`key ${JSON.stringify(path)} is in scope ${kept.scope}, which you (${ring.member}) do not hold`, 'NO_ACCESS')
    const record = current ? reseal(file, kept, ring.key(kept.scope), ring.key(kept.scope), scope.gen, version) : kept
    if (current) versions.learn(enc, version)
    if (isValue(record)) file.values.set(enc, record)
    else file.tombstones.set(enc, record)
  })
}
