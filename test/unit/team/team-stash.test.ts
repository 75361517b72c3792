/**
 * The team stash through the library, with real age-keygen and ssh-keygen keys: scopes,
 * membership checks, removal and rotation, rollback memory, tampering and byte flips.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ageEncrypt } from '../../../src/team/age-file.js'
import { parseTeamFile, serializeTeamFile, slotOf } from '../../../src/team/format.js'
import { openKeyring } from '../../../src/team/keyring.js'
import { parseIdentities, parseRecipient } from '../../../src/team/keys.js'
import { addMember, createTeam, exposedValues, removeMember } from '../../../src/team/membership.js'
import { b64 } from '../../../src/team/primitives.js'
import { openValue } from '../../../src/team/scope-keys.js'
import { SeenStore } from '../../../src/team/seen.js'
import { TeamStash } from '../../../src/team/team-stash.js'
import { tempDir } from '../../helpers.js'

const dir = tempDir()
// Debian's `age` package (age, age-keygen); .ci/run installs it.
const hasAge = spawnSync('age-keygen', ['-y', '/dev/null']).error === undefined
let count = 0
const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text))

function ageKey(): { recipient: string; secret: string } {
  const file = join(dir, `age-${count++}.key`)
  spawnSync('age-keygen', ['-o', file])
  return { recipient: spawnSync('age-keygen', ['-y', file], { encoding: 'utf8' }).stdout.trim(), secret: readFileSync(file, 'utf8') }
}

function sshKey(): { recipient: string; secret: string } {
  const file = join(dir, `ssh-${count++}`)
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file])
  return { recipient: readFileSync(`${file}.pub`, 'utf8').trim(), secret: readFileSync(file, 'utf8') }
}

/** A clone's memory of its own (each member's machine remembers separately). */
const clone = (): Record<string, string> => ({ XDG_STATE_HOME: join(dir, `state-${count++}`) })
const ids = (key: { secret: string }) => parseIdentities(key.secret, 'test')

/** A team stash with alice (dev, prod), bob (dev, ssh key) and ci (prod), and one value in each scope. */
async function setup() {
  const path = join(dir, `team-${count++}.sstash`)
  const [alice, bob, ci] = [ageKey(), sshKey(), ageKey()]
  const env = { alice: clone(), bob: clone(), ci: clone() }
  await createTeam(path, 'alice', alice.recipient, [{ name: 'dev', prefix: ['dev'] }, { name: 'prod', prefix: ['prod'] }], env.alice)
  const asAlice = await TeamStash.open(path, ids(alice), env.alice)
  await addMember(asAlice, 'bob', bob.recipient, ['dev'])
  await addMember(asAlice, 'ci', ci.recipient, ['prod'])
  await asAlice.update((tree) => {
    tree.write(['dev', 'api', 'token'], utf8('dev-token'))
    tree.write(['prod', 'db', 'password'], utf8('prod-password'))
  })
  return { path, alice, bob, ci, env, asAlice, open: (key: { secret: string }, e: Record<string, string>) => TeamStash.open(path, ids(key), e) }
}

const code = async (promise: Promise<unknown>): Promise<string | undefined> =>
  promise.then(() => undefined, (error: { code?: string }) => error.code)

describe.skipIf(!hasAge)('team stash', () => {
  it('gives each member the values of their scopes, and says which scope the others are in', async () => {
    const t = await setup()
    const bob = await t.open(t.bob, t.env.bob)
    expect(Buffer.from(await bob.readValue(['dev', 'api', 'token'])).toString()).toBe('dev-token')
    expect(await code(bob.readValue(['prod', 'db', 'password']))).toBe('NO_ACCESS')
    // Key paths are public: bob sees that prod/db/password exists.
    expect(await bob.has(['prod', 'db', 'password'])).toBe(true)
    expect(await code(bob.writeValue(['prod', 'x'], utf8('x')))).toBe('NO_ACCESS')
    expect(await code(bob.writeValue(['elsewhere'], utf8('x')))).toBe('BAD_SCOPE')
  })

  it('lets a CI key given as one AGE-SECRET-KEY string read its scope and nothing else', async () => {
    const t = await setup()
    const secret = t.ci.secret.split('\n').find((line) => line.startsWith('AGE-SECRET-KEY-1')) as string
    const ci = await TeamStash.open(t.path, parseIdentities(secret, 'SSTASH_IDENTITY'), t.env.ci)
    expect(Buffer.from(await ci.readValue(['prod', 'db', 'password'])).toString()).toBe('prod-password')
    expect(await code(ci.readValue(['dev', 'api', 'token']))).toBe('NO_ACCESS')
  })

  it('refuses an identity that is not a member', async () => {
    const t = await setup()
    expect(await code(t.open(ageKey(), clone()))).toBe('NOT_A_MEMBER')
  })

  it('keeps the exact bytes of every record a write did not change', async () => {
    const t = await setup()
    const before = readFileSync(t.path, 'utf8').split('\n')
    await t.asAlice.writeValue(['dev', 'other'], utf8('new'))
    const after = readFileSync(t.path, 'utf8').split('\n')
    expect(after.filter((line) => !before.includes(line))).toEqual([`value ${slotOf('/dev/other')} /dev/other`, expect.stringMatching(/^ dev 1 1 [A-Za-z0-9+/]+=*$/)])
    expect(before.filter((line) => !after.includes(line))).toEqual([])
  })

  it('rotates the scopes of a removed member: their old key cannot read a value set afterwards', async () => {
    const t = await setup()
    const old = parseTeamFile(readFileSync(t.path), t.path)
    const bobsOldKey = openKeyring(old, ids(t.bob), SeenStore.load(clone()), 'old').keyAt('dev', 1)
    const removal = await removeMember(t.asAlice, 'bob', t.env.alice)
    expect(removal.rotated).toEqual(['dev'])
    expect(removal.exposed).toEqual([['dev', 'api', 'token']])
    await t.asAlice.writeValue(['dev', 'api', 'token'], utf8('rotated-token'))
    const now = parseTeamFile(readFileSync(t.path), t.path)
    expect(now.scopes.get('dev')?.gen).toBe(2)
    expect(() => openValue(bobsOldKey, now.teamId, now.values.get('/dev/api/token')!)).toThrow(/does not verify/)
    expect(await code(t.open(t.bob, t.env.bob))).toBe('NOT_A_MEMBER')
    // Set again under the new key: no longer exposed; ci and alice still read everything they had.
    expect(exposedValues(now)).toEqual([])
    const ci = await t.open(t.ci, t.env.ci)
    expect(Buffer.from(await ci.readValue(['prod', 'db', 'password'])).toString()).toBe('prod-password')
  })

  it('keeps values set before a rotation readable to the remaining members, and lists them as exposed', async () => {
    const t = await setup()
    await removeMember(t.asAlice, 'bob', t.env.alice)
    const alice = await t.open(t.alice, t.env.alice)
    expect(Buffer.from(await alice.readValue(['dev', 'api', 'token'])).toString()).toBe('dev-token')
    expect(exposedValues(parseTeamFile(readFileSync(t.path), t.path)).map((v) => v.path)).toEqual([['dev', 'api', 'token']])
  })

  it('keeps a moved value listed as exposed, and gives an existing member more scopes', async () => {
    const t = await setup()
    await removeMember(t.asAlice, 'bob', t.env.alice)
    await t.asAlice.move(['dev', 'api'], ['dev', 'moved'])
    expect(exposedValues(parseTeamFile(readFileSync(t.path), t.path)).map((v) => v.path)).toEqual([['dev', 'moved', 'token']])
    expect(await addMember(t.asAlice, 'ci', undefined, ['dev'])).toEqual(['dev', 'prod'])
    const ci = await t.open(t.ci, t.env.ci)
    expect(Buffer.from(await ci.readValue(['dev', 'moved', 'token'])).toString()).toBe('dev-token')
  })

  it('refuses a recipient planted by someone without the scope key', async () => {
    const t = await setup()
    const eve = ageKey()
    const file = parseTeamFile(readFileSync(t.path), t.path)
    file.members.set('eve', parseRecipient(eve.recipient).text)
    file.wraps.set('dev eve', { scope: 'dev', gen: 1, member: 'eve', file: b64(await ageEncrypt(new Uint8Array(32), [parseRecipient(eve.recipient)])) })
    writeFileSync(t.path, serializeTeamFile(file))
    expect(await code(t.open(t.alice, t.env.alice))).toBe('TEAM_TAMPERED')
    // A member record with no scope at all is refused too.
    file.wraps.delete('dev eve')
    writeFileSync(t.path, serializeTeamFile(file))
    expect(await code(t.open(t.alice, t.env.alice))).toBe('TEAM_TAMPERED')
  })

  it('refuses a value swapped with another or moved to another key path', async () => {
    const t = await setup()
    await t.asAlice.writeValue(['dev', 'b'], utf8('bee'))
    const original = readFileSync(t.path)
    const file = parseTeamFile(original, t.path)
    const [a, b] = [file.values.get('/dev/api/token')!, file.values.get('/dev/b')!]
    ;[a.sealed, b.sealed] = [b.sealed, a.sealed]
    writeFileSync(t.path, serializeTeamFile(file))
    expect(await code(t.open(t.alice, t.env.alice))).toBe('TEAM_TAMPERED')
    // Moved as a writer would move it: under the slot of its new key path, in its new place.
    const moved = parseTeamFile(original, t.path)
    moved.values.set('/dev/c', { ...moved.values.get('/dev/b')!, path: ['dev', 'c'] })
    moved.values.delete('/dev/b')
    writeFileSync(t.path, serializeTeamFile(moved))
    expect(await code(t.open(t.alice, t.env.alice))).toBe('TEAM_TAMPERED')
  })

  it('refuses a rollback to a membership that included a removed member, and a forged newer generation', async () => {
    const t = await setup()
    const before = readFileSync(t.path)
    const bobEnv = clone()
    await removeMember(t.asAlice, 'bob', t.env.alice)
    await t.open(t.alice, t.env.alice)
    // Bob pushes the old file back: alice's clone has seen generation 2.
    writeFileSync(t.path, before)
    expect(await code(t.open(t.alice, t.env.alice))).toBe('TEAM_ROLLBACK')
    // Bob makes a "newer" generation of dev from his old copy: it does not chain to the one alice saw.
    const asBob = await t.open(t.bob, bobEnv)
    await addMember(asBob, 'mallory', ageKey().recipient, ['dev'])
    await removeMember(asBob, 'mallory', bobEnv)
    expect(parseTeamFile(readFileSync(t.path), t.path).scopes.get('dev')?.gen).toBe(2)
    expect(await code(t.open(t.alice, t.env.alice))).toBe('TEAM_ROLLBACK')
  })

  it('never gives a wrong value for a file with any byte flipped', async () => {
    const t = await setup()
    const original = readFileSync(t.path)
    const expected = { dev: 'dev-token', prod: 'prod-password' }
    const [alice] = ids(t.alice)
    // Flips in the wraps of other members change nothing alice uses; every other flip is refused.
    const othersWraps: [number, number][] = []
    let start = 0
    for (const line of original.toString().split('\n')) {
      if (/^wrap \S+ \d+ (bob|ci) /.test(line)) othersWraps.push([start, start + line.length])
      start += line.length + 1
    }
    const unused = (i: number): boolean => othersWraps.some(([from, to]) => i >= from && i < to)
    for (let i = 0; i < original.length; i += 3) {
      const flipped = Buffer.from(original)
      flipped[i] = (flipped[i] as number) ^ 0x04
      let accepted = true
      try {
        const file = parseTeamFile(flipped, 'x')
        const ring = openKeyring(file, [alice!], SeenStore.load(clone()), 'x')
        for (const record of file.values.values()) {
          const value = Buffer.from(openValue(ring.keyAt(record.scope, record.gen), file.teamId, record)).toString()
          expect(value).toBe(expected[record.scope as 'dev' | 'prod'])
        }
      } catch (error) {
        expect((error as { code?: string }).code).toMatch(/^[A-Z_]+$/)
        accepted = false
      }
      if (!unused(i)) expect(accepted, `a flip at byte ${i} was accepted`).toBe(false)
    }
  })
})
