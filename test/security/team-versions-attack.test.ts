/**
 * An outside attacker against issue 21's per-path versions (commit 4de9c60): push access, every
 * public key, every old file, a removed member's private key, no current member's key. Each
 * attack that works is an `it.fails` with a `// BROKEN:` line saying what the attacker gains;
 * each one that is refused asserts the refusal (exit 4, one line, no value printed).
 */
import { randomBytes } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { chownSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { serializeTeamFile, type TeamFile, type ValueRecord } from '../../src/team/format.js'
import { openKeyring } from '../../src/team/keyring.js'
import { createTeam, removeMember } from '../../src/team/membership.js'
import { mergeTeamFiles } from '../../src/team/merge.js'
import { parseTeamFile } from '../../src/team/parse.js'
import { sealValue } from '../../src/team/scope-keys.js'
import { otherUser, runBin } from '../helpers.js'
import { clone, forgedTombstone, ids, newKey, newPath, setup, utf8 } from '../unit/team/fixture.js'
import { TeamStash } from '../../src/team/team-stash.js'

type Team = Awaited<ReturnType<typeof setup>>
type Who = 'alice' | 'bob' | 'ci'
const parse = (path: string): TeamFile => parseTeamFile(readFileSync(path), path)
const write = (path: string, file: TeamFile): void => writeFileSync(path, serializeTeamFile(file))
const TOKEN = ['dev', 'api', 'token']
const ENC = '/dev/api/token'
const TOP = 2 ** 31 - 1
const ONE_ERROR = /^sstash: error: [^\n]+\n(sstash: hint: [^\n]+\n)?$/
const as = (t: Team, who: Who) => ({ env: { ...t.env[who], SSTASH_IDENTITY: t[who].secret } })
const sstash = (t: Team, who: Who, args: string[], input?: string) => runBin('sstash', ['--stash', t.path, ...args], { ...as(t, who), input })
const get = (t: Team, who: Who, key: string, extra: string[] = []) => sstash(t, who, [...extra, 'get', key])
/** A value record an outsider writes: real fields, random bytes for the ciphertext (they hold no key). */
const forgedValue = (gen: number, version: number): ValueRecord => ({ path: TOKEN, scope: 'dev', gen, since: 1, version, sealed: randomBytes(60).toString('base64') })
/** The refusal every attack below should meet: exit 4, one line, the value not printed. */
function refused(r: { code: number | null; stdout: string; stderr: string }, value = 'dev-token'): void {
  expect(r.code, r.stderr).toBe(4)
  expect(r.stderr).toMatch(ONE_ERROR)
  expect(r.stdout).not.toContain(value)
}
/** The team after bob's removal: dev is at generation 2, so a generation-1 record of dev is "stale". */
async function rotated(): Promise<Team> {
  const t = await setup()
  await removeMember(await t.open(t.alice, t.env.alice), 'bob')
  expect((await get(t, 'alice', 'dev/api/token')).stdout).toBe('dev-token')
  return t
}
/** The file with dev/api/token's current record replaced by version 2 written by alice, and version 1 kept. */
async function twoVersions(t: Team): Promise<TeamFile> {
  const v1 = parse(t.path)
  expect((await sstash(t, 'alice', ['set', 'dev/api/token'], 'rotated-v2')).code).toBe(0)
  expect((await get(t, 'alice', 'dev/api/token')).stdout).toBe('rotated-v2')
  return v1
}
function replayV1(t: Team, v1: TeamFile): void {
  const file = parse(t.path)
  file.values.set(ENC, v1.values.get(ENC) as ValueRecord)
  write(t.path, file)
}

describe('team versions: records under an old generation are not verified', () => {
  // WAS BROKEN, fixed: a record whose generation is below its scope's cannot be verified (nobody
  // holds that key but whoever was removed), yet nextVersion took its version: an outsider with no
  // key planted a generation-1 record at version 2^31-1 after any `team rm`, and a member's `sstash
  // set` then wrote version 2^31, a file no member could read. nextVersion now counts only records
  // under the scope's current key, and refuses to pass the field's limit.
  it('lets a member set a key path again after an outsider plants a stale record at version 2^31-1 there', async () => {
    const t = await rotated()
    const file = parse(t.path)
    file.values.set(ENC, forgedValue(1, TOP))
    write(t.path, file)
    const set = await sstash(t, 'alice', ['set', 'dev/api/token'], 'new-token')
    expect(set.code, set.stderr).toBe(0)
    expect(await get(t, 'alice', 'dev/api/token')).toMatchObject({ stderr: '', code: 0, stdout: 'new-token' })
    expect((await get(t, 'ci', 'prod/db/password')).stdout).toBe('prod-password')
  })

  // WAS BROKEN, fixed: the same for a tombstone under an old generation.
  it('lets a member set a key path again after an outsider plants a stale tombstone at version 2^31-1 there', async () => {
    const t = await rotated()
    const file = parse(t.path)
    file.values.delete(ENC)
    file.tombstones.set(ENC, forgedTombstone(TOKEN, 'dev', 1, TOP))
    write(t.path, file)
    const set = await sstash(t, 'alice', ['set', 'dev/api/token'], 'new-token')
    expect(set.code, set.stderr).toBe(0)
    expect(await get(t, 'alice', 'dev/api/token')).toMatchObject({ stderr: '', code: 0, stdout: 'new-token' })
  })

  // WAS BROKEN (the words), a limit (the verification): an outsider's record under an old
  // generation (random bytes) was reported as the removed member's write ("by bob after it"). No
  // member holds an old key, so no member can tell the two apart: the record is never used, and
  // the error now names all three causes (an old branch, bob, or someone without the key).
  it('refuses a made-up record under an old generation, without blaming it on the removed member alone', async () => {
    const t = await rotated()
    const file = parse(t.path)
    file.values.set(ENC, forgedValue(1, 5))
    write(t.path, file)
    const r = await get(t, 'alice', 'dev/api/token')
    refused(r)
    expect(r.stderr).toContain('or planted by someone without the key')
  })

  // WAS BROKEN, fixed: a conflict side of an old generation was offered as a merge conflict, and
  // the set its hint asks for took the unverified side's version (2^31-1: a file no member could
  // read). Such a side is now refused as any record under an old key is (TEAM_STALE), and its
  // version counts for nothing.
  it('lets a member settle, by setting a new value, a conflict an outsider planted at version 2^31-1', async () => {
    const t = await rotated()
    const file = parse(t.path)
    file.conflicts.set(ENC, forgedValue(1, TOP))
    write(t.path, file)
    expect((await sstash(t, 'alice', ['set', 'dev/api/token'], 'new-token')).code).toBe(0)
    expect(await get(t, 'alice', 'dev/api/token')).toMatchObject({ stderr: '', code: 0, stdout: 'new-token' })
  })

  it('refuses a conflict side an outsider plants under an old generation, rather than offering it for resolution', async () => {
    const t = await rotated()
    const file = parse(t.path)
    file.conflicts.set(ENC, forgedValue(1, 5))
    write(t.path, file)
    const r = await get(t, 'alice', 'dev/api/token')
    refused(r)
    expect(r.stderr).toContain('or planted by someone without the key')
  })
})

describe('team versions: records dropped, moved and replayed', () => {
  // WAS BROKEN, fixed: a record dropped outright read as "not found" (exit 3) although this clone
  // remembers the key path's version; a read of that key path now refuses it (TEAM_ROLLBACK).
  it('refuses, on a clone that read the key path, a file where its record was dropped outright', async () => {
    const t = await setup()
    expect((await get(t, 'alice', 'dev/api/token')).stdout).toBe('dev-token')
    const file = parse(t.path)
    file.values.delete(ENC)
    write(t.path, file)
    refused(await get(t, 'alice', 'dev/api/token'))
  })

  // WAS BROKEN, fixed: the version check was skipped for a key path in conflict, so version 1
  // copied back as our side, under the real version 2 as their side, was a conflict, not
  // TEAM_ROLLBACK, on a clone that read version 2, and `team resolve --ours` sealed the leaked
  // value again as the newest. Our side is now checked against the clone's memory (their side
  // may be older legitimately: a branch cut earlier), and resolve --ours refuses it.
  it('refuses, on a clone that read version 2, a conflict whose side is version 1 copied back', async () => {
    const t = await setup()
    const v1 = await twoVersions(t)
    const file = parse(t.path)
    file.conflicts.set(ENC, file.values.get(ENC) as ValueRecord)
    file.values.set(ENC, v1.values.get(ENC) as ValueRecord)
    write(t.path, file)
    const r = await get(t, 'alice', 'dev/api/token')
    refused(r)
    expect(r.stderr).toContain('replaced by a newer value')
    const before = readFileSync(t.path)
    const resolve = await sstash(t, 'alice', ['team', 'resolve', 'dev/api/token', '--ours'])
    expect(resolve.code, resolve.stderr).toBe(4)
    expect(resolve.stderr).toMatch(ONE_ERROR)
    expect(readFileSync(t.path)).toEqual(before)
  })

  it('refuses a real record moved to another key path', async () => {
    const t = await setup()
    const file = parse(t.path)
    const token = file.values.get(ENC) as ValueRecord
    file.values.delete(ENC)
    file.values.set('/dev/api/other', { ...token, path: ['dev', 'api', 'other'] })
    write(t.path, file)
    const r = await get(t, 'alice', 'dev/api/other')
    refused(r)
    expect(r.stderr).toContain('does not verify')
  })

  it('refuses a record at a version the parser cannot hold: 2^31, leading zeros, negative, 11 digits', async () => {
    const t = await setup()
    const lines = readFileSync(t.path, 'utf8')
    for (const version of ['2147483648', '0000000002', '-1', '0', '12345678901', '9007199254740992']) {
      const planted = lines.replace(/(value [0-9a-f]{8} \/dev\/api\/token\n dev 1 1) 1 /, `$1 ${version} `)
      expect(planted).not.toBe(lines)
      writeFileSync(t.path, planted)
      refused(await get(t, 'alice', 'dev/api/token'))
    }
  })

  it('refuses a replay through sstash-run -k of the subtree, ls, and get --allow-old learns nothing', async () => {
    const t = await setup()
    const v1 = await twoVersions(t)
    replayV1(t, v1)
    const run = await runBin('run', ['--stash', t.path, '-k', 'dev', '--', process.execPath, '-e', 'process.stdout.write(JSON.stringify(process.env))'], as(t, 'alice'))
    refused(run)
    refused(await sstash(t, 'alice', ['ls']))
    refused(await sstash(t, 'alice', ['export', 'dev']))
    expect((await get(t, 'alice', 'dev/api/token', ['--allow-old'])).stdout).toBe('dev-token')
    refused(await get(t, 'alice', 'dev/api/token'))
  })

  it('refuses a replay to git-credential-sstash: git gets no password', async () => {
    const path = newPath()
    const alice = newKey()
    const env = clone()
    await createTeam(path, 'alice', alice.recipient, [{ name: 'git', prefix: ['git'] }], env)
    const key = ['git', 'https', 'example.net', '-', 'alice', 'password']
    const enc = '/git/https/example.net/-/alice/password'
    await (await TeamStash.open(path, ids(alice), env)).writeValue(key, utf8('old-token'))
    const v1 = parse(path)
    await (await TeamStash.open(path, ids(alice), env)).writeValue(key, utf8('new-token'))
    const helper = () => runBin('git', ['get'], { env: { ...env, SSTASH_FILE: path, SSTASH_IDENTITY: alice.secret }, input: 'protocol=https\nhost=example.net\nusername=alice\n\n' })
    expect((await helper()).stdout).toContain('password=new-token')
    const file = parse(path)
    file.values.set(enc, v1.values.get(enc) as ValueRecord)
    write(path, file)
    const r = await helper()
    expect(r.stdout).not.toContain('old-token')
    expect(r.stderr).toContain('replaced by a newer value')
  })

  it('refuses version 1 copied back under another spelling of its key path, which the clone would remember apart', async () => {
    const t = await setup()
    const v1 = await twoVersions(t)
    const good = readFileSync(t.path)
    for (const spelling of ['/dev/api/%74oken', '/dev/api/tok%65n', '/dev/api//token']) {
      const file = parseTeamFile(good, 'good')
      file.values.delete(ENC)
      file.values.set(spelling, v1.values.get(ENC) as ValueRecord)
      write(t.path, file)
      const r = await get(t, 'alice', 'dev/api/token')
      expect(r.code).not.toBe(0)
      expect(r.stderr).toMatch(ONE_ERROR)
      expect(r.stdout).not.toContain('dev-token')
      expect(r.stderr).toContain('not a valid team stash')
    }
  })

  it('refuses a replayed record under a key path read through a parent key', async () => {
    const t = await setup()
    const v1 = await twoVersions(t)
    replayV1(t, v1)
    refused(await get(t, 'alice', 'dev/api'))
    refused(await get(t, 'alice', 'dev'))
  })
})

describe('team versions: the merge driver, team rm and the clone\'s memory', () => {
  it('refuses, after a merge of two removals at two versions, an outsider\'s higher removal the driver kept', async () => {
    const t = await setup()
    const base = readFileSync(t.path)
    await (await t.open(t.alice, t.env.alice)).update((tree) => tree.remove(TOKEN))
    const ours = readFileSync(t.path)
    const theirs = parseTeamFile(base, 'theirs')
    theirs.values.delete(ENC)
    theirs.tombstones.set(ENC, forgedTombstone(TOKEN, 'dev', 1, TOP))
    const merged = mergeTeamFiles(base, ours, serializeTeamFile(theirs), t.path)
    // The driver holds no scope key: it keeps the higher removal as it is, and a read refuses it.
    expect(merged.conflicts).toEqual([])
    writeFileSync(t.path, merged.bytes)
    const r = await get(t, 'alice', 'dev/api/token')
    refused(r)
    expect(r.stderr).toContain('does not verify')
  })

  it('keeps the versions across team rm, so a pre-removal record copied back is still refused', async () => {
    const t = await setup()
    const v1 = await twoVersions(t)
    await removeMember(await t.open(t.alice, t.env.alice), 'bob')
    expect(parse(t.path).values.get(ENC)).toMatchObject({ gen: 2, version: 2 })
    // Bob, removed, seals version 1's value again with the old key at a version above: stale.
    const bobs = parse(t.path)
    const oldKey = openKeyring(v1, ids(t.bob), 'bob').key('dev')
    bobs.values.set(ENC, sealValue(oldKey, bobs.teamId, { path: TOKEN, scope: 'dev', gen: 1, since: 1, version: 3 }, utf8('dev-token')))
    write(t.path, bobs)
    refused(await get(t, 'alice', 'dev/api/token'))
  })

  it('fails with one line, and no hang, when the versions file is a FIFO', async () => {
    const t = await setup()
    await get(t, 'alice', 'dev/api/token')
    const dir = join(t.env.alice.XDG_STATE_HOME as string, 'sstash', 'team-versions')
    const [name] = readdirSync(dir)
    rmSync(join(dir, name as string))
    execFileSync('mkfifo', ['-m', '600', join(dir, name as string)])
    const r = await get(t, 'alice', 'dev/api/token')
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(ONE_ERROR)
    expect(r.stdout).not.toContain('dev-token')
  })

  // WAS BROKEN, fixed: the versions file (and team-seen) was read whoever owned it: where another
  // Unix user can write the state directory (a shared or pre-created $XDG_STATE_HOME), they emptied
  // it, and a replayed value was then read as current. Both are now read only when this user owns them.
  it.skipIf(process.getuid?.() !== 0 || !otherUser())('refuses a versions file another user owns, rather than forgetting the versions it held', async () => {
    const t = await setup()
    const v1 = await twoVersions(t)
    const dir = join(t.env.alice.XDG_STATE_HOME as string, 'sstash', 'team-versions')
    const file = join(dir, readdirSync(dir)[0] as string)
    const other = otherUser() as { uid: number; gid: number }
    writeFileSync(file, '')
    chownSync(file, other.uid, other.gid)
    replayV1(t, v1)
    const r = await get(t, 'alice', 'dev/api/token')
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(ONE_ERROR)
    expect(r.stderr).toContain('belongs to another user')
    expect(r.stdout).not.toContain('dev-token')
  })

  it('lands both versions when two commands of one clone write two key paths at once', async () => {
    const t = await setup()
    const v1 = parse(t.path)
    // Two sets at once (the lock orders them), then both old records copied back.
    const [a, b] = await Promise.all([sstash(t, 'alice', ['set', 'dev/api/token'], 'x'), sstash(t, 'alice', ['set', 'prod/db/password'], 'y')])
    expect([a.code, b.code]).toEqual([0, 0])
    const file = parse(t.path)
    file.values.set(ENC, v1.values.get(ENC) as ValueRecord)
    file.values.set('/prod/db/password', v1.values.get('/prod/db/password') as ValueRecord)
    write(t.path, file)
    refused(await get(t, 'alice', 'dev/api/token'))
    refused(await get(t, 'alice', 'prod/db/password'), 'prod-password')
  })
})
