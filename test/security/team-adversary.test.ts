/**
 * The team stash against the attacker of SECURITY.md: push access, every public key, every old
 * file, and a removed member's (or removed admin's) private keys, but no current member's key.
 * Each forged file is built with the library's own cryptography and must be refused on a clone
 * that has opened the team: through the library, and through the CLI (exit 4, one error line).
 */
import fc from 'fast-check'
import { readFileSync, writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ageEncrypt } from '../../src/team/age-file.js'
import { anchor, serializeTeamFile, type TeamFile } from '../../src/team/format.js'
import { openKeyring } from '../../src/team/keyring.js'
import { parseRecipient } from '../../src/team/keys.js'
import { addMember, createTeam, removeMember } from '../../src/team/membership.js'
import { mergeTeamFiles } from '../../src/team/merge.js'
import { parseTeamFile } from '../../src/team/parse.js'
import { b64 } from '../../src/crypto/primitives.js'
import { fingerprintOf, newScopeKey, sealValue } from '../../src/team/scope-keys.js'
import { signMembership } from '../../src/team/signing.js'
import { TeamStash } from '../../src/team/team-stash.js'
import { runBin } from '../helpers.js'
import { clone, code, ids, newKey, setup, utf8 } from '../unit/team/fixture.js'

const wrapTo = async (key: Uint8Array, recipient: string): Promise<string> => b64(await ageEncrypt(key, [parseRecipient(recipient)]))
const parse = (path: string): TeamFile => parseTeamFile(readFileSync(path), path)

/** Refused through the library with `expected`, and through the CLI with exit 4 and one error line. */
async function refused(t: Awaited<ReturnType<typeof setup>>, forged: Uint8Array, expected: string | RegExp): Promise<void> {
  writeFileSync(t.path, forged)
  const got = await code(TeamStash.open(t.path, ids(t.alice), t.env.alice).then((stash) => stash.readValue(['dev', 'api', 'token'])))
  expect(got).toMatch(expected)
  const r = await runBin('sstash', ['--stash', t.path, 'get', 'dev/api/token'], { env: { ...t.env.alice, SSTASH_IDENTITY: t.alice.secret } })
  expect(r.code).toBe(4)
  expect(r.stdout).toBe('')
  expect(r.stderr).toMatch(/^sstash: error: [^\n]+\n(sstash: hint: [^\n]+\n)?$/)
}

describe('team stash adversary', () => {
  it('refuses a scope with a longer prefix planted by an outsider, wrapped to the members and to their own key', async () => {
    const t = await setup()
    const eve = newKey()
    const file = parse(t.path)
    const key = newScopeKey()
    file.scopes.set('api', { name: 'api', prefix: ['dev', 'api'], gen: 1, fingerprint: fingerprintOf(key) })
    file.members.set('eve', eve.recipient)
    for (const [member, recipient] of file.members) file.wraps.set(`api ${member}`, { scope: 'api', gen: 1, member, file: await wrapTo(key, recipient) })
    file.values.set('/dev/api/token', sealValue(key, file.teamId, { path: ['dev', 'api', 'token'], scope: 'api', gen: 1, since: 1, version: 9 }, utf8('eve chose this')))
    await refused(t, serializeTeamFile(file), 'TEAM_TAMPERED')
  })

  it('refuses a member or recipient added by an outsider', async () => {
    const t = await setup()
    const eve = newKey()
    const file = parse(t.path)
    file.members.set('eve', eve.recipient)
    file.wraps.set('dev eve', { scope: 'dev', gen: 1, member: 'eve', file: await wrapTo(newScopeKey(), eve.recipient) })
    await refused(t, serializeTeamFile(file), 'TEAM_TAMPERED')
  })

  it('refuses the whole file replaced by a new team that lists the same members, on a clone that opened the real one', async () => {
    const t = await setup()
    const real = readFileSync(t.path)
    const eve = newKey()
    const evePath = `${t.path}.eve`
    const eveEnv = clone()
    await createTeam(evePath, 'eve', eve.recipient, [{ name: 'dev', prefix: ['dev'] }, { name: 'prod', prefix: ['prod'] }], eveEnv)
    const asEve = await TeamStash.open(evePath, ids(eve), eveEnv)
    await addMember(asEve, 'alice', t.alice.recipient, ['dev', 'prod'])
    await asEve.writeValue(['dev', 'api', 'token'], utf8('eve chose this'))
    await refused(t, readFileSync(evePath), 'TEAM_REPLACED')
    await expect(TeamStash.open(t.path, ids(t.alice), t.env.alice)).rejects.toThrow(/now holds another team .*the whole file was replaced/)
    writeFileSync(t.path, real)
  })

  it('refuses a scope renamed, or dropped and added back, even signed by a removed admin\'s old signing key', async () => {
    const t = await setup()
    const file = parse(t.path)
    const dev = file.scopes.get('dev')!
    file.scopes.delete('dev')
    file.scopes.set('dev2', { ...dev, name: 'dev2' })
    for (const [k, w] of [...file.wraps]) if (w.scope === 'dev') {
      file.wraps.delete(k)
      file.wraps.set(`dev2 ${w.member}`, { ...w, scope: 'dev2' })
    }
    for (const v of file.values.values()) if (v.scope === 'dev') v.scope = 'dev2'
    await refused(t, serializeTeamFile(file), 'TEAM_TAMPERED')
    // Bob, made an admin and then removed, keeps the old signing key: alice's clone saw the rotation.
    const t2 = await setup()
    await addMember(t2.asAlice, 'bob', undefined, [], { admin: true })
    const beforeRemoval = parse(t2.path)
    const bobsSeed = openKeyring(beforeRemoval, ids(t2.bob), 'old').signingSeed()
    await removeMember(await t2.open(t2.alice, t2.env.alice), 'bob')
    await t2.open(t2.alice, t2.env.alice)
    beforeRemoval.scopes.delete('prod')
    for (const [k, w] of [...beforeRemoval.wraps]) if (w.scope === 'prod') beforeRemoval.wraps.delete(k)
    beforeRemoval.members.delete('ci')
    for (const [k, v] of [...beforeRemoval.values]) if (v.scope === 'prod') beforeRemoval.values.delete(k)
    beforeRemoval.epoch += 10
    signMembership(beforeRemoval, bobsSeed)
    await refused(t2, serializeTeamFile(beforeRemoval), /TEAM_REPLACED|TEAM_ROLLBACK/)
  })

  it('refuses an older membership presented again, naming the removal it predates', async () => {
    const t = await setup()
    const before = readFileSync(t.path)
    await removeMember(t.asAlice, 'bob')
    await refused(t, before, 'TEAM_ROLLBACK')
    const r = await runBin('sstash', ['--stash', t.path, 'get', 'dev/api/token'], { env: { ...t.env.alice, SSTASH_IDENTITY: t.alice.secret } })
    expect(r.stderr).toContain('predates the removal of bob from dev (generation 2); merge the branch that made it')
  })

  it('refuses every value a removed member writes with their old key, new or overwriting', async () => {
    const t = await setup()
    const old = parse(t.path)
    const bobsKey = openKeyring(old, ids(t.bob), 'old').key('dev')
    await removeMember(t.asAlice, 'bob')
    const file = parse(t.path)
    file.values.set('/dev/api/token', sealValue(bobsKey, file.teamId, { path: ['dev', 'api', 'token'], scope: 'dev', gen: 1, since: 1, version: 9 }, utf8('bob overwrote it')))
    await refused(t, serializeTeamFile(file), 'TEAM_STALE')
    // Claiming the new generation does not help: the AEAD binds the generation, and bob lacks its key.
    const claimed = parse(t.path)
    claimed.values.set('/dev/api/token', sealValue(bobsKey, file.teamId, { path: ['dev', 'api', 'token'], scope: 'dev', gen: 2, since: 2, version: 9 }, utf8('bob overwrote it')))
    writeFileSync(t.path, serializeTeamFile(claimed))
    expect(await code(TeamStash.open(t.path, ids(t.alice), t.env.alice).then((alice) => alice.readValue(['dev', 'api', 'token'])))).toBe('TEAM_TAMPERED')
  })

  it('makes the merge driver refuse a side with a planted recipient, before it writes anything', async () => {
    const t = await setup()
    const base = readFileSync(t.path)
    await t.asAlice.writeValue(['dev', 'ours'], utf8('o'))
    const ours = readFileSync(t.path)
    const theirs = parseTeamFile(base, 'x')
    const eve = newKey()
    theirs.members.set('eve', eve.recipient)
    theirs.wraps.set('dev eve', { scope: 'dev', gen: 1, member: 'eve', file: await wrapTo(newScopeKey(), eve.recipient) })
    expect(() => mergeTeamFiles(base, ours, serializeTeamFile(theirs), 'team.sstash', ids(t.alice))).toThrow(expect.objectContaining({ code: 'TEAM_TAMPERED', message: expect.stringMatching(/their side.*refuses it/) }))
  })

  it('refuses random changes of the membership section, whatever they are', async () => {
    const t = await setup()
    const original = readFileSync(t.path, 'utf8')
    const lines = original.split('\n')
    const end = lines.indexOf(anchor(0))
    fc.assert(fc.property(fc.integer({ min: 1, max: end - 1 }), fc.integer({ min: 1, max: end - 1 }), fc.nat(), fc.constantFrom('flip', 'drop', 'dup', 'swap', 'field'), (i, j, n, how) => {
      const copy = [...lines]
      const line = copy[i] as string
      if (how === 'flip') copy[i] = line.slice(0, n % line.length) + String.fromCharCode(line.charCodeAt(n % line.length) ^ 1) + line.slice((n % line.length) + 1)
      else if (how === 'drop') copy.splice(i, 1)
      else if (how === 'dup') copy.splice(i, 0, line)
      else if (how === 'swap') [copy[i], copy[j]] = [copy[j] as string, line]
      else copy[i] = line.split(' ').map((f, k) => (k === (n % 4) + 1 ? copy[j]?.split(' ')[k] ?? f : f)).join(' ')
      const forged = copy.join('\n')
      if (forged === original) return
      expect(() => parseTeamFile(Buffer.from(forged), 'forged')).toThrow(expect.objectContaining({ code: expect.stringMatching(/^(TEAM_TAMPERED|NOT_A_STASH)$/) }))
    }), { numRuns: 300 })
  })

  it('reads or refuses a hostile 2 MB file of any shape in well under a second, and bounds members', async () => {
    const t = await setup()
    const [header, ...rest] = readFileSync(t.path, 'utf8').split('\n')
    const members = Array.from({ length: 40_000 }, (_, i) => `member m${String(i).padStart(6, '0')} ${t.bob.recipient}`)
    const wraps = Array.from({ length: 20_000 }, (_, i) => `wrap dev 1 m${String(i).padStart(6, '0')} YWdl`)
    for (const shape of [members, wraps]) {
      const bytes = Buffer.from([header, ...shape, ...rest].join('\n'))
      const start = performance.now()
      expect(() => parseTeamFile(bytes, 'big')).toThrow(expect.objectContaining({ code: 'NOT_A_STASH' }))
      expect(performance.now() - start).toBeLessThan(1000)
    }
  })
})
