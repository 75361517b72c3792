/**
 * A team for tests, made with our own `generateIdentity` so it runs on every machine: alice
 * (admin; dev, prod), bob (dev) and ci (prod), one value in each scope, and each member's clone
 * memory kept apart (as each machine remembers separately).
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseIdentities, generateIdentity } from '../../../src/team/keys.js'
import { openKeyring } from '../../../src/team/keyring.js'
import { addMember, createTeam, removeMember } from '../../../src/team/membership.js'
import { parseTeamFile } from '../../../src/team/parse.js'
import type { TeamFile, TombstoneRecord } from '../../../src/team/format.js'
import { ageEncrypt } from '../../../src/team/age-file.js'
import { parseRecipient } from '../../../src/team/keys.js'
import { fingerprintOf, newScopeKey, sealValue } from '../../../src/team/scope-keys.js'
import { signMembership, signingKeyFingerprint, teamFingerprint } from '../../../src/team/signing.js'
import { b64 } from '../../../src/crypto/primitives.js'
import { TeamStash } from '../../../src/team/team-stash.js'
import { tempDir } from '../../helpers.js'

const dir = tempDir()
let count = 0

/** A new member key: its secret string and public key. */
export function newKey(): { secret: string; recipient: string } {
  const secret = generateIdentity(new Uint8Array(randomBytes(32)))
  return { secret, recipient: (parseIdentities(secret, 'test')[0] as { recipient: string }).recipient }
}

/** A clone's memory of its own. */
export const clone = (): Record<string, string> => ({ XDG_STATE_HOME: join(dir, `state-${count++}`) })
export const ids = (key: { secret: string }) => parseIdentities(key.secret, 'test')
export const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text))
export const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString()
/** The code of the error a promise rejects with, or undefined. */
export const code = async (promise: Promise<unknown>): Promise<string | undefined> => promise.then(() => undefined, (error: { code?: string }) => error.code)
export const newPath = (): string => join(dir, `team-${count++}.sstash`)

/** An outsider's tombstone: the fields of a real one and a tag of random bytes, since they lack the scope key. */
export const forgedTombstone = (path: string[], scope: string, gen = 1, version = 9): TombstoneRecord => ({ path, scope, gen, version, tag: randomBytes(32).toString('base64') })

/** The team described above. */
export async function setup() {
  const path = newPath()
  const [alice, bob, ci] = [newKey(), newKey(), newKey()]
  const env = { alice: clone(), bob: clone(), ci: clone() }
  await createTeam(path, 'alice', alice.recipient, [{ name: 'dev', prefix: ['dev'] }, { name: 'prod', prefix: ['prod'] }], env.alice)
  const asAlice = await TeamStash.open(path, ids(alice), env.alice)
  await addMember(asAlice, 'bob', bob.recipient, ['dev'])
  await addMember(asAlice, 'ci', ci.recipient, ['prod'])
  await asAlice.update((tree) => {
    tree.write(['dev', 'api', 'token'], utf8('dev-token'))
    tree.write(['prod', 'db', 'password'], utf8('prod-password'))
  })
  return { path, alice, bob, ci, env, asAlice, open: (key: { secret: string }, e: Record<string, string>, options = {}) => TeamStash.open(path, ids(key), e, options) }
}

/**
 * The team above where bob was an admin and was then removed by alice: the file from before
 * the removal (signed by signing key generation 1), bob's copy of that generation's seed, and
 * the real file's pins (signing key generation 2). Alice's clone has seen the removal.
 */
export async function removedAdmin() {
  const t = await setup()
  await addMember(t.asAlice, 'bob', undefined, [], { admin: true })
  const before = readFileSync(t.path)
  const bobsSeed = openKeyring(parseTeamFile(before, t.path), ids(t.bob), 'old').signingSeed()
  await removeMember(await t.open(t.alice, t.env.alice), 'bob')
  await t.open(t.alice, t.env.alice)
  const real = parseTeamFile(readFileSync(t.path), t.path)
  return { t, before, bobsSeed, real, pin: signingKeyFingerprint(real) as string, fingerprint: teamFingerprint(real) }
}

/** A scope key wrapped to a member's public key, as an outsider wraps one. */
export const wrapTo = async (key: Uint8Array, recipient: string): Promise<string> => b64(await ageEncrypt(key, [parseRecipient(recipient)]))

/**
 * A removed admin's forgery of the file `before` their removal (unsigned: the caller signs it):
 * prod given a key of theirs at generation 2, wrapped to alice, ci and eve (a member they add),
 * and a value eve chose, at an epoch well above the real one.
 */
export async function prodForEve(before: Uint8Array): Promise<TeamFile> {
  const file = parseTeamFile(before, 'before')
  const key = newScopeKey()
  const prod = file.scopes.get('prod') as NonNullable<ReturnType<typeof file.scopes.get>>
  prod.gen = 2
  prod.fingerprint = fingerprintOf(key)
  file.members.set('eve', newKey().recipient)
  for (const k of [...file.wraps.keys()]) if (k.startsWith('prod ')) file.wraps.delete(k)
  for (const member of ['alice', 'ci', 'eve']) file.wraps.set(`prod ${member}`, { scope: 'prod', gen: 2, member, file: await wrapTo(key, file.members.get(member) as string) })
  file.values.set('/prod/db/password', sealValue(key, file.teamId, { path: ['prod', 'db', 'password'], scope: 'prod', gen: 2, since: 2, version: 9 }, utf8('eve chose this')))
  file.epoch += 50
  return file
}

/** A removed admin's forgery of the file `before` their removal: eve made an admin with their copy of the signing key, signed with their seed. */
export function eveAsAdmin(before: Uint8Array, admin: string, seed: Uint8Array): TeamFile {
  const forged = parseTeamFile(before, 'before')
  forged.members.set('eve', newKey().recipient)
  forged.admins.add('eve')
  forged.signWraps.set('eve', { ...(forged.signWraps.get(admin) as NonNullable<ReturnType<typeof forged.signWraps.get>>), admin: 'eve' })
  forged.epoch += 50
  signMembership(forged, seed)
  return forged
}
