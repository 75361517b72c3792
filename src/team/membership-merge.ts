/**
 * The membership part of the merge driver (docs/TEAM.md, Merge semantics): `scope`, `member`,
 * `wrap` and `chain` records changed differently on both sides. Members added on both sides of
 * a scope whose key neither side rotated merge as a union, and the scope's MAC is computed
 * again over the merged members, with the scope key of the identity running the merge, after
 * both sides' own MACs verify under it. Everything else is a conflict: two rotations, a
 * rotation against additions, a member given two keys, a removal that rotated nothing, or no
 * identity holding the scope.
 */
import { SSCryptoError, SSError } from '../errors.js'
import type { Identity } from './age-file.js'
import { encodePath, type ScopeRecord, type TeamFile } from './format.js'
import { membersOf, unwrapScope } from './keyring.js'
import { sameBytes } from './primitives.js'
import { scopeMac } from './scope-keys.js'

/** The two sides of a merge, parsed, and their common base (undefined when both sides added the file). */
export interface Sides {
  base: TeamFile | undefined
  ours: TeamFile
  theirs: TeamFile
}

const HINT = 'keep one side (`git checkout --ours <file>` or `--theirs`), `git add` it, and redo the other side\'s membership change'

function membershipConflict(what: string, reasons: readonly string[], hint = HINT): SSError {
  return new SSError(`${what}: membership changed on both sides, and the merge driver cannot decide it: ${reasons.slice(0, 3).join('; ')}`, 'TEAM_CONFLICT', { hint })
}

/** Why the driver cannot merge the members of `name` as a union, or undefined when both sides have the same scope key. */
function scopeReason(name: string, { base, ours, theirs }: Sides): string | undefined {
  const [b, o, t] = [base?.scopes.get(name), ours.scopes.get(name), theirs.scopes.get(name)]
  if (!o || !t) return `scope ${name} exists on one side only`
  if (o.gen === t.gen && o.fingerprint === t.fingerprint) return encodePath(o.prefix) === encodePath(t.prefix) ? undefined : `the prefix of scope ${name} differs`
  const rotated = (s: ScopeRecord): boolean => !b || s.gen !== b.gen || s.fingerprint !== b.fingerprint
  if (rotated(o) && rotated(t)) return `scope ${name} got a different new key on each side (two \`team rm\`)`
  // The additions were made under the old key, which the removed member holds too: carried
  // into the new key, a removed member's branch could give the new key to anyone.
  return `scope ${name} got a new key on ${rotated(o) ? 'our' : 'their'} side (a \`team rm\`) while its members changed on the other, under the old key`
}

function memberReason(name: string, { ours, theirs }: Sides): string {
  return ours.members.has(name) && theirs.members.has(name) ? `member ${name} was added with a different key on each side` : `member ${name} was removed on one side and changed on the other`
}

/** Why a `wrap` changed differently on both sides cannot stand, or undefined when both are the same key wrapped to the same recipient (ours stands). */
function wrapReason(scope: string, member: string, sides: Sides): string | undefined {
  const { ours, theirs } = sides
  const [o, t] = [ours.wraps.get(`${scope} ${member}`), theirs.wraps.get(`${scope} ${member}`)]
  if (o && t && o.gen === t.gen && ours.members.get(member) === theirs.members.get(member)) return undefined
  return o && t ? memberReason(member, sides) : `the wrap of scope ${scope} for ${member} was removed on one side and changed on the other`
}

/** Why the record `key` (`scope s`, `member m`, `wrap s m` or `chain s g`) cannot be merged, or undefined when ours stands. */
function reasonFor(key: string, sides: Sides): string | undefined {
  const [kind, a, b] = key.split(' ') as [string, string, string]
  if (kind === 'member') return memberReason(a, sides)
  const scope = scopeReason(a, sides)
  if (scope !== undefined || kind === 'scope') return scope
  return kind === 'wrap' ? wrapReason(a, b, sides) : `the key chain of scope ${a} differs`
}

/**
 * Decides the membership records changed differently on both sides, given by their keys as
 * merge.ts keys records. Where it returns, our record of each key stands, and the scopes it
 * returns need their MAC computed again ({@link resignScopes}).
 * @throws {SSError} TEAM_CONFLICT naming what cannot be merged
 */
export function settleMembership(keys: readonly string[], sides: Sides, what: string): string[] {
  const reasons = new Set<string>()
  const resign = new Set<string>()
  for (const key of keys) {
    const reason = reasonFor(key, sides)
    if (reason !== undefined) reasons.add(reason)
    else if (key.startsWith('scope ')) resign.add(key.slice(6))
  }
  if (reasons.size > 0) throw membershipConflict(what, [...reasons])
  return [...resign]
}

/** The key of scope `name` as the identities unwrap it on `file` (fingerprint and that side's MAC checked). */
function scopeKey(file: TeamFile, name: string, identities: readonly Identity[], what: string): Uint8Array | undefined {
  for (const [member, recipient] of file.members) {
    const identity = identities.find((candidate) => candidate.recipient === recipient)
    if (identity) return unwrapScope(file, file.scopes.get(name) as ScopeRecord, member, identity, what)
  }
  return undefined
}

const pairs = (file: TeamFile, scope: string): Set<string> => new Set(membersOf(file, scope).map(([name, recipient]) => `${name} ${recipient}`))

/**
 * Computes again the MAC of each scope in `scopes` of the merged file, whose members both sides
 * changed under one key. Only when an identity holds the scope, both sides' MACs verify under
 * its key, and the merged members are exactly both sides' members together: so the merge signs
 * no member that neither side's MAC vouched for, and drops none without a rotation.
 * @throws {SSError} TEAM_CONFLICT; {@link SSCryptoError} TEAM_TAMPERED when a side's MAC does not verify
 */
export function resignScopes(merged: TeamFile, scopes: readonly string[], sides: Sides, identities: readonly Identity[] | undefined, what: string): void {
  const named = [['our', sides.ours], ['their', sides.theirs]] as const
  for (const name of scopes) {
    let key: Uint8Array | undefined
    for (const [side, file] of named) key ??= identities ? scopeKey(file, name, identities, `${what} (${side} side)`) : undefined
    if (!key)
      throw membershipConflict(what, [`merging the members of scope ${name} needs its key, and ${identities ? `your identity does not hold scope ${name}` : 'no identity was found'}`], `a member of scope ${name} runs the merge (with SSTASH_IDENTITY or SSTASH_IDENTITY_FILE), or ${HINT}`)
    for (const [side, file] of named) {
      const scope = file.scopes.get(name) as ScopeRecord
      if (!sameBytes(Buffer.from(scopeMac(key, file.teamId, scope, membersOf(file, name))), Buffer.from(scope.mac)))
        throw new SSCryptoError(`${what} (${side} side): the membership of scope ${name} does not verify: it was changed by someone without the scope's key (a planted recipient?); the merge does not sign it`, 'TEAM_TAMPERED')
    }
    const both = new Set([...pairs(sides.ours, name), ...pairs(sides.theirs, name)])
    const now = pairs(merged, name)
    const left = [...both].find((pair) => !now.has(pair))
    const extra = [...now].find((pair) => !both.has(pair))
    if (left) throw membershipConflict(what, [`member ${left.split(' ')[0]} left scope ${name} on one side without a new key for it (no sstash command does that)`])
    if (extra) throw membershipConflict(what, [`member ${extra.split(' ')[0]} of scope ${name} would get a key neither side gave it`])
    const scope = merged.scopes.get(name) as ScopeRecord
    scope.mac = scopeMac(key, merged.teamId, scope, membersOf(merged, name))
  }
}
