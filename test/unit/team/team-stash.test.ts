/**
 * The team stash through the library, with keys from our own generateIdentity (runs on every
 * machine): scopes, admins, removal with re-encryption, pinning, old branches, values set
 * under an old key, writes that change nothing, and byte flips.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { SecureStash } from '../../../src/store/secure-stash.js'
import { TeamStash } from '../../../src/team/team-stash.js'
import { parseTeamFile } from '../../../src/team/parse.js'
import { openKeyring } from '../../../src/team/keyring.js'
import { addMember, exposedValues, removeMember, staleValues } from '../../../src/team/membership.js'
import { openValue } from '../../../src/team/scope-keys.js'
import { clone, code, ids, newKey, setup, text, utf8 } from './fixture.js'

describe('team stash', () => {
  it('gives each member the values of their scopes, and says which scope the others are in', async () => {
    const t = await setup()
    const bob = await t.open(t.bob, t.env.bob)
    expect(text(await bob.readValue(['dev', 'api', 'token']))).toBe('dev-token')
    expect(await code(bob.readValue(['prod', 'db', 'password']))).toBe('NO_ACCESS')
    expect(await bob.has(['prod', 'db', 'password'])).toBe(true)
    expect(await code(bob.writeValue(['prod', 'x'], utf8('x')))).toBe('NO_ACCESS')
    expect(await code(bob.writeValue(['elsewhere'], utf8('x')))).toBe('BAD_SCOPE')
  })

  it('refuses an identity that is not a member', async () => {
    const t = await setup()
    expect(await code(t.open(newKey(), clone()))).toBe('NOT_A_MEMBER')
  })

  it('lets only an admin change membership, and makes a member an admin with --admin', async () => {
    const t = await setup()
    const bob = await t.open(t.bob, t.env.bob)
    expect(await code(addMember(bob, 'eve', newKey().recipient, ['dev']))).toBe('NOT_ADMIN')
    expect(await code(removeMember(bob, 'ci'))).toBe('NOT_ADMIN')
    await addMember(t.asAlice, 'bob', undefined, [], { admin: true })
    const asBob = await t.open(t.bob, t.env.bob)
    expect(await addMember(asBob, 'dave', newKey().recipient, ['dev'])).toEqual(['dev'])
    expect(parseTeamFile(readFileSync(t.path), t.path).admins).toEqual(new Set(['alice', 'bob']))
  })

  it('writes nothing when an update changes nothing: the file keeps its inode and mtime', async () => {
    const t = await setup()
    const before = statSync(t.path)
    await new Promise((resolve) => setTimeout(resolve, 20))
    // One symbol for every kind of stash: TreeStash defines it, below both.
    expect(TeamStash.UNCHANGED).toBe(SecureStash.UNCHANGED)
    expect(await t.asAlice.update(() => TeamStash.UNCHANGED)).toBe(SecureStash.UNCHANGED)
    await t.asAlice.update((tree) => tree.write(['dev', 'api', 'token'], utf8('dev-token')))
    const after = statSync(t.path)
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs])
  })

  it('reads the file again under the lock when another writer changed it since, so no write of theirs is lost', async () => {
    const t = await setup()
    const asAlice = await t.open(t.alice, t.env.alice)
    // Each holds a snapshot of the file as it was; alice's other handle writes first.
    await t.asAlice.writeValue(['dev', 'first'], utf8('1'))
    await asAlice.writeValue(['dev', 'second'], utf8('2'))
    await t.asAlice.writeValue(['dev', 'third'], utf8('3'))
    const fresh = await t.open(t.alice, t.env.alice)
    expect(await fresh.list(['dev']).then((entries) => entries.map((e) => e.key.join('/')))).toEqual(['dev/api/token', 'dev/first', 'dev/second', 'dev/third'])
  })

  it('rotates the scopes of a removed member and encrypts every value again, so their old key opens nothing in the file', async () => {
    const t = await setup()
    const old = parseTeamFile(readFileSync(t.path), t.path)
    const bobsOldKey = openKeyring(old, ids(t.bob), 'old').key('dev')
    const removal = await removeMember(t.asAlice, 'bob')
    expect(removal.rotated).toEqual(['dev'])
    expect(removal.exposed).toEqual([['dev', 'api', 'token']])
    await t.asAlice.writeValue(['dev', 'later'], utf8('later'))
    const now = parseTeamFile(readFileSync(t.path), t.path)
    expect(now.scopes.get('dev')?.gen).toBe(2)
    for (const record of now.values.values()) if (record.scope === 'dev') expect(() => openValue(bobsOldKey, now.teamId, record)).toThrow(/does not verify/)
    expect(await code(t.open(t.bob, t.env.bob))).toBe('NOT_A_MEMBER')
    // The old value was re-encrypted, keeping `since`: still listed as exposed, and named who and when.
    expect(exposedValues(now).map((v) => v.path)).toEqual([['dev', 'api', 'token']])
    expect([...now.removals.values()].map((r) => [r.member, r.scopes])).toEqual([['bob', [['dev', 2]]]])
    const alice = await t.open(t.alice, t.env.alice)
    expect(text(await alice.readValue(['dev', 'api', 'token']))).toBe('dev-token')
  })

  it('refuses an old branch after a removal, naming the removal, and reads it only with allowOld, never writing', async () => {
    const t = await setup()
    const before = readFileSync(t.path)
    await removeMember(t.asAlice, 'bob')
    const after = readFileSync(t.path)
    writeFileSync(t.path, before)
    await expect(t.open(t.alice, t.env.alice)).rejects.toThrow(/predates the removal of bob from dev \(generation 2\); merge the branch that made it/)
    expect(await code(t.open(t.alice, t.env.alice))).toBe('TEAM_ROLLBACK')
    const old = await t.open(t.alice, t.env.alice, { allowOld: true })
    expect(text(await old.readValue(['dev', 'api', 'token']))).toBe('dev-token')
    expect(await code(old.writeValue(['dev', 'x'], utf8('x')))).toBe('TEAM_ROLLBACK')
    expect(readFileSync(t.path)).toEqual(before)
    writeFileSync(t.path, after)
    expect(text(await (await t.open(t.alice, t.env.alice)).readValue(['dev', 'api', 'token']))).toBe('dev-token')
  })

  it('refuses a value set under an old key, names its key path, and lists it as set again until a member sets it', async () => {
    const t = await setup()
    const before = readFileSync(t.path)
    await removeMember(t.asAlice, 'bob')
    // A value from a branch cut before the removal, carried over as plain git would.
    const oldFile = parseTeamFile(before, 'old')
    const oldKey = openKeyring(oldFile, ids(t.bob), 'old').key('dev')
    const { sealValue } = await import('../../../src/team/scope-keys.js')
    const file = parseTeamFile(readFileSync(t.path), t.path)
    file.values.set('/dev/api/planted', sealValue(oldKey, file.teamId, { path: ['dev', 'api', 'planted'], scope: 'dev', gen: 1, since: 1, version: 9 }, utf8('bob wrote this')))
    const { serializeTeamFile } = await import('../../../src/team/format.js')
    writeFileSync(t.path, serializeTeamFile(file))
    const alice = await t.open(t.alice, t.env.alice)
    await expect(alice.readValue(['dev', 'api', 'planted'])).rejects.toThrow(/key dev\/api\/planted was set under an old key of scope dev.*removal of bob.*set again/)
    expect(await code(alice.readValue(['dev', 'api', 'planted']))).toBe('TEAM_STALE')
    expect(await code(alice.readValue(['dev']))).toBe('TEAM_STALE')
    expect(staleValues(parseTeamFile(readFileSync(t.path), t.path)).map((v) => v.path)).toEqual([['dev', 'api', 'planted']])
    await alice.writeValue(['dev', 'api', 'planted'], utf8('checked'))
    expect(text(await (await t.open(t.alice, t.env.alice)).readValue(['dev', 'api', 'planted']))).toBe('checked')
  })

  it('keeps the exact bytes of every record a write did not change', async () => {
    const t = await setup()
    const before = readFileSync(t.path, 'utf8').split('\n')
    await t.asAlice.writeValue(['dev', 'other'], utf8('new'))
    const after = readFileSync(t.path, 'utf8').split('\n')
    expect(after.filter((line) => !before.includes(line))).toEqual([expect.stringMatching(/^value [0-9a-f]{8} \/dev\/other$/), expect.stringMatching(/^ dev 1 1 1 [A-Za-z0-9+/]+=*$/)])
    expect(before.filter((line) => !after.includes(line))).toEqual([])
  })

  it('keeps a removed value as a tombstone, so that a removal and a neighbouring addition never touch', async () => {
    const t = await setup()
    await t.asAlice.removeKey(['dev', 'api', 'token'])
    const file = parseTeamFile(readFileSync(t.path), t.path)
    expect(file.tombstones.has('/dev/api/token')).toBe(true)
    expect(await (await t.open(t.alice, t.env.alice)).has(['dev', 'api', 'token'])).toBe(false)
  })

  it('never gives a wrong value for a file with any byte flipped', async () => {
    const t = await setup()
    const original = readFileSync(t.path)
    const expected = { dev: 'dev-token', prod: 'prod-password' }
    const [alice] = ids(t.alice)
    for (let i = 0; i < original.length; i += 7) {
      const flipped = Buffer.from(original)
      flipped[i] = (flipped[i] as number) ^ 0x04
      let accepted = true
      try {
        const file = parseTeamFile(flipped, 'x')
        const ring = openKeyring(file, [alice!], 'x')
        for (const record of file.values.values()) expect(text(openValue(ring.key(record.scope), file.teamId, record))).toBe(expected[record.scope as 'dev' | 'prod'])
      } catch (error) {
        expect((error as { code?: string }).code).toMatch(/^[A-Z_]+$/)
        accepted = false
      }
      // The signature covers the whole membership section, the AEAD every value: every flip is refused.
      expect(accepted, `a flip at byte ${i} was accepted`).toBe(false)
    }
  })
})
