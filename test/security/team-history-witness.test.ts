/**
 * Issue 21's last attacker: a removed admin, who kept the signing key they held, against a clone
 * that never saw their removal (CI that last ran before it, a fresh clone). The removal is a
 * commit, so the file's git history witnesses the newer signing key (src/team/history.ts):
 * whatever the removed admin signs with the old key, or a key of their own they endorse with it,
 * committed on top, is refused. Real git, the built binary, files forged with the library's own
 * cryptography; and the legitimate histories that must still read.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { serializeTeamFile, type TeamFile } from '../../src/team/format.js'
import { openKeyring } from '../../src/team/keyring.js'
import { addMember, removeMember } from '../../src/team/membership.js'
import { parseTeamFile } from '../../src/team/parse.js'
import { endorsementMessage, newSigningKey, signBytes, signMembership, signingKeyFingerprint } from '../../src/team/signing.js'
import { TeamStash } from '../../src/team/team-stash.js'
import { b64 } from '../../src/crypto/primitives.js'
import { runBin, runCommand } from '../helpers.js'
import { clone, eveAsAdmin, ids, newKey, prodForEve, wrapTo } from '../unit/team/fixture.js'
import { EVE, ONE_ERROR, dir, ok, removalInGit, type Removal } from './team-git-fixture.js'

/** Commits `forged` as eve, then expects CI's stale clone and a fresh clone to refuse it with `message`, printing no value. */
async function refusedOnTop(t: Removal, forged: TeamFile, message: string): Promise<void> {
  writeFileSync(t.path, serializeTeamFile(forged))
  await t.git('commit', '-qam', 'tidy')
  for (const state of [t.env.ci, clone()]) {
    const r = await t.sstash(['get', 'prod/db/password'], state)
    expect(r.code, r.stderr).toBe(4)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(ONE_ERROR)
    expect(r.stderr).toContain(message)
  }
}

describe('team stash: the file\'s git history witnesses an admin\'s removal', () => {
  it('refuses, on CI\'s clone that last read the team before an admin\'s removal, what the removed admin signs with the old key on top of it', async () => {
    const t = await removalInGit()
    const forged = await prodForEve(t.before)
    signMembership(forged, t.bobsSeed)
    await refusedOnTop(t, forged, 'which the file\'s git history shows replaced when an admin was removed')
    // Nor with --allow-old, nor through CI's check.
    expect((await t.sstash(['--allow-old', 'get', 'prod/db/password'])).code).toBe(4)
    expect((await runBin('sstash', ['--stash', t.path, 'team', 'verify'], { cwd: t.repo, env: { ...clone(), HOME: dir } })).code).toBe(4)
  }, 60_000)

  it('refuses the removed admin\'s own next signing key, endorsed with the key they kept', async () => {
    const t = await removalInGit()
    const forged = await prodForEve(t.before)
    const mine = newSigningKey()
    forged.signKeys.set(2, { gen: 2, publicKey: mine.publicKey, endorsement: signBytes(t.bobsSeed, endorsementMessage(forged.teamId, 2, mine.publicKey)) })
    forged.signWraps.clear()
    forged.signWraps.set('alice', { admin: 'alice', gen: 2, file: await wrapTo(mine.seed, t.alice.recipient) })
    forged.admins.delete('bob')
    forged.members.delete('bob')
    for (const k of [...forged.wraps.keys()]) if (k.endsWith(' bob')) forged.wraps.delete(k)
    signMembership(forged, mine.seed)
    await refusedOnTop(t, forged, 'is not the one the file\'s git history holds')
  }, 60_000)

  it('refuses, with a signing key pinned before a second admin\'s removal, that admin\'s forgery on top of it', async () => {
    const t = await removalInGit()
    const carol = newKey()
    await addMember(await TeamStash.open(t.path, ids(t.alice), t.env.alice), 'carol', carol.recipient, [], { admin: true })
    await t.git('commit', '-qam', 'add carol')
    const before = readFileSync(t.path)
    const pin = signingKeyFingerprint(parseTeamFile(before, 'before')) as string
    const carolsSeed = openKeyring(parseTeamFile(before, 'before'), ids(carol), 'before').signingSeed()
    await removeMember(await TeamStash.open(t.path, ids(t.alice), t.env.alice), 'carol')
    await t.git('commit', '-qam', 'remove carol')
    writeFileSync(t.path, serializeTeamFile(eveAsAdmin(before, 'carol', carolsSeed)))
    await t.git('commit', '-qam', 'tidy')
    const r = await runBin('sstash', ['--stash', t.path, 'team', 'verify', '--signing-key', pin], { cwd: t.repo, env: { ...clone(), HOME: dir } })
    expect(r.code, r.stderr).toBe(4)
    expect(r.stderr).toMatch(ONE_ERROR)
    expect(r.stderr).toContain('which the file\'s git history shows replaced when an admin was removed')
  }, 60_000)

  it('refuses, in the merge driver on a clone that never saw the removal, a branch holding the removed admin\'s forgery on top of it', async () => {
    const t = await removalInGit()
    await t.git('checkout', '-qb', 'tidy')
    const forged = await prodForEve(t.before)
    signMembership(forged, t.bobsSeed)
    writeFileSync(t.path, serializeTeamFile(forged))
    await t.git('commit', '-qam', 'tidy')
    // CI's own branch, cut before the removal, with a value of its own: its history has no removal; theirs has.
    await t.git('checkout', '-qb', 'ci-work', 'main~1')
    await ok(runBin('sstash', ['--stash', t.path, 'set', 'prod/other'], { cwd: t.repo, env: { ...t.env.ci, HOME: dir, SSTASH_IDENTITY: t.ci.secret }, input: 'ci-value' }))
    await t.git('commit', '-qam', 'ci value')
    const ours = readFileSync(t.path)
    const merged = await runCommand('git', ['merge', '--no-edit', 'tidy'], { cwd: t.repo, env: { ...t.env.ci, ...EVE, HOME: dir, SSTASH_IDENTITY: t.ci.secret } })
    expect(merged.code).not.toBe(0)
    expect(merged.stdout + merged.stderr).toContain('which the file\'s git history shows replaced when an admin was removed')
    expect(readFileSync(t.path)).toEqual(ours)
    const r = await t.sstash(['get', 'prod/db/password'])
    expect(r.stdout).not.toContain('eve chose this')
  }, 60_000)

  it('reads every legitimate history: the removal, a later change, an old branch on a fresh clone, and signing key lines planted without the key', async () => {
    const t = await removalInGit()
    expect((await ok(t.sstash(['get', 'prod/db/password']))).stdout).toBe('prod-password')
    await addMember(await TeamStash.open(t.path, ids(t.alice), t.env.alice), 'dave', newKey().recipient, ['dev'])
    await t.git('commit', '-qam', 'add dave')
    // An outsider's commit with signing key lines of every generation, endorsed by random bytes, then the file back.
    const real = readFileSync(t.path)
    const junk = [2, 3, 4].map((gen) => `signkey ${gen} ${b64(newSigningKey().seed)} ${b64(new Uint8Array(64))}`)
    writeFileSync(t.path, Buffer.concat([real, Buffer.from(`${junk.join('\n')}\n`)]))
    await t.git('commit', '-qam', 'junk')
    writeFileSync(t.path, real)
    await t.git('commit', '-qam', 'undo junk')
    for (const state of [t.env.ci, clone()]) expect((await ok(t.sstash(['get', 'prod/db/password'], state))).stdout).toBe('prod-password')
    await t.git('checkout', '-q', 'HEAD~4')
    expect((await ok(t.sstash(['get', 'prod/db/password'], clone()))).stdout).toBe('prod-password')
  }, 60_000)
})
