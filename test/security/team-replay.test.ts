/**
 * Issue 21's attacker against the value section: push access, every old file, no current
 * member's key. A removal (tombstone) or a conflict record they plant does not verify
 * (TEAM_TAMPERED); an older record of a key path copied back from history, or left by a
 * `git revert`, is refused on a clone that read or wrote the newer one (TEAM_ROLLBACK), until a
 * member sets the value again. Forged with the library's own cryptography, through the library,
 * the CLI binary and real git.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { serializeTeamFile, type TeamFile } from '../../src/team/format.js'
import { openKeyring } from '../../src/team/keyring.js'
import { removeMember, resolveConflict } from '../../src/team/membership.js'
import { mergeTeamFiles } from '../../src/team/merge.js'
import { parseTeamFile } from '../../src/team/parse.js'
import { sealValue, tagTombstone } from '../../src/team/scope-keys.js'
import { runBin, runCommand, memberEnv, tempDir, type RunResult } from '../helpers.js'
import { clone, code, forgedTombstone, ids, newKey, setup, text, utf8 } from '../unit/team/fixture.js'

type Team = Awaited<ReturnType<typeof setup>>
const parse = (path: string): TeamFile => parseTeamFile(readFileSync(path), path)
const TOKEN = ['dev', 'api', 'token']
const ONE_ERROR = /^sstash: error: [^\n]+\n(sstash: hint: [^\n]+\n)?$/
const as = (t: Team, who: 'alice' | 'bob' | 'ci', env = t.env[who]) => ({ env: { ...env, SSTASH_IDENTITY: t[who].secret } })
const get = (t: Team, who: 'alice' | 'bob' | 'ci', key: string, extra: string[] = [], env = t.env[who]) => runBin('sstash', ['--stash', t.path, ...extra, 'get', key], as(t, who, env))
/** The file with the record of `enc` taken from `old` (a value, or a tombstone when old removed it). */
function replay(path: string, old: TeamFile, enc: string): void {
  const file = parse(path)
  file.values.delete(enc)
  file.tombstones.delete(enc)
  const [value, tombstone] = [old.values.get(enc), old.tombstones.get(enc)]
  if (value) file.values.set(enc, value)
  if (tombstone) file.tombstones.set(enc, tombstone)
  writeFileSync(path, serializeTeamFile(file))
}

describe('team stash: tombstones and conflict records an outsider plants', () => {
  it('refuses an outsider\'s tombstone in place of a value, through the library, get and ls', async () => {
    const t = await setup()
    const file = parse(t.path)
    file.values.delete('/dev/api/token')
    file.tombstones.set('/dev/api/token', forgedTombstone(TOKEN, 'dev'))
    writeFileSync(t.path, serializeTeamFile(file))
    expect(await code(t.open(t.alice, t.env.alice).then((s) => s.readValue(TOKEN)))).toBe('TEAM_TAMPERED')
    for (const args of [['get', 'dev/api/token'], ['ls']]) {
      const r = await runBin('sstash', ['--stash', t.path, ...args], as(t, 'bob'))
      expect(r.code).toBe(4)
      expect(r.stderr).toMatch(ONE_ERROR)
      expect(r.stderr).toContain('the removal of /dev/api/token does not verify')
    }
    // A member of prod only cannot check dev's tombstone, and reads prod as before.
    expect((await get(t, 'ci', 'prod/db/password')).stdout).toBe('prod-password')
  })

  it('refuses a real tombstone moved to another key path, or re-tagged under another scope\'s key', async () => {
    const t = await setup()
    await t.asAlice.writeValue(['dev', 'gone'], utf8('x'))
    await (await t.open(t.alice, t.env.alice)).update((tree) => tree.remove(['dev', 'gone']))
    const real = parse(t.path).tombstones.get('/dev/gone')!
    expect(real).toMatchObject({ scope: 'dev', gen: 1, version: 2 })
    const moved = parse(t.path)
    moved.values.delete('/dev/api/token')
    moved.tombstones.set('/dev/api/token', { ...real, path: TOKEN })
    writeFileSync(t.path, serializeTeamFile(moved))
    expect((await get(t, 'alice', 'dev/api/token')).code).toBe(4)
    // Bob holds dev, not prod: a tombstone he tags with dev's key for a prod key path names the wrong scope.
    const bobs = parse(t.path)
    const devKey = openKeyring(bobs, ids(t.bob), 'bob').key('dev')
    bobs.values.delete('/prod/db/password')
    bobs.tombstones.set('/prod/db/password', tagTombstone(devKey, bobs.teamId, { path: ['prod', 'db', 'password'], scope: 'prod', gen: 1, version: 9 }))
    writeFileSync(t.path, serializeTeamFile(bobs))
    expect((await get(t, 'alice', 'prod/db/password')).code).toBe(4)
  })

  it('refuses a removal a removed member tags with their old key, as a value they write is', async () => {
    const t = await setup()
    const bobsKey = openKeyring(parse(t.path), ids(t.bob), 'old').key('dev')
    await removeMember(t.asAlice, 'bob')
    const file = parse(t.path)
    file.values.delete('/dev/api/token')
    file.tombstones.set('/dev/api/token', tagTombstone(bobsKey, file.teamId, { path: TOKEN, scope: 'dev', gen: 1, version: 9 }))
    writeFileSync(t.path, serializeTeamFile(file))
    const r = await get(t, 'alice', 'dev/api/token')
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('was removed under an old key of scope dev')
    const listed = await runBin('sstash', ['--stash', t.path, 'team', 'ls'], as(t, 'alice'))
    expect(listed.stdout).toMatch(/^set-again dev\/api\/token scope dev generation 1$/m)
  })

  it('tags every tombstone of a scope again when a member is removed, so members still read the removals', async () => {
    const t = await setup()
    await t.asAlice.writeValue(['dev', 'gone'], utf8('x'))
    await (await t.open(t.alice, t.env.alice)).update((tree) => tree.remove(['dev', 'gone']))
    const before = parse(t.path).tombstones.get('/dev/gone')!
    await removeMember(await t.open(t.alice, t.env.alice), 'bob')
    const after = parse(t.path).tombstones.get('/dev/gone')!
    expect(after).toMatchObject({ gen: 2, version: before.version })
    expect(after.tag).not.toBe(before.tag)
    const r = await runBin('sstash', ['--stash', t.path, 'ls'], as(t, 'alice'))
    expect(r.code).toBe(0)
    expect(r.stdout).not.toContain('dev/gone')
  })

  it('refuses a conflict record an outsider plants, on either side, as tampering (exit 4), and team resolve does not take it', async () => {
    const t = await setup()
    const original = readFileSync(t.path)
    const token = parse(t.path).values.get('/dev/api/token')!
    for (const side of [forgedTombstone(TOKEN, 'dev'), { ...parse(t.path).values.get('/dev/api/token')!, version: 7 }]) {
      const file = parseTeamFile(original, 'original')
      file.conflicts.set('/dev/api/token', side)
      writeFileSync(t.path, serializeTeamFile(file))
      const planted = readFileSync(t.path)
      const r = await get(t, 'alice', 'dev/api/token')
      expect(r.code).toBe(4)
      expect(r.stderr).toMatch(ONE_ERROR)
      expect(r.stderr).not.toContain('merge conflict')
      const resolved = await runBin('sstash', ['--stash', t.path, 'team', 'resolve', 'dev/api/token', '--theirs'], as(t, 'alice'))
      expect(resolved.code).toBe(4)
      expect(readFileSync(t.path)).toEqual(planted)
    }
    // Our side of a conflict is checked too: a value changed under a real conflict record.
    const file = parseTeamFile(original, 'original')
    file.conflicts.set('/dev/api/token', token)
    file.values.set('/dev/api/token', { ...token, since: 1, version: 5 })
    writeFileSync(t.path, serializeTeamFile(file))
    expect(await code(t.open(t.alice, t.env.alice).then((s) => s.readValue(TOKEN)))).toBe('TEAM_TAMPERED')
  })

  it('refuses the tombstone payload of the pre-release draft, and a value without a version, with one clear line', async () => {
    const t = await setup()
    const lines = readFileSync(t.path, 'utf8')
    for (const old of [lines.replace(/(value [0-9a-f]{8} \/dev\/api\/token\n) [^\n]+\n/, '$1 -\n'), lines.replace(/(value [0-9a-f]{8} \/dev\/api\/token\n dev 1 1) 1 /, '$1 ')]) {
      expect(old).not.toBe(lines)
      writeFileSync(t.path, old)
      const r = await get(t, 'alice', 'dev/api/token')
      expect(r.code).toBe(4)
      expect(r.stderr).toMatch(ONE_ERROR)
      expect(r.stderr).toContain('the value record for /dev/api/token has no version (a pre-release sstash wrote it)')
    }
  })
})

describe('team stash: an older value of a key path copied back', () => {
  it('refuses version 1 copied back over version 2, names the key path and what to do, reads it with --allow-old, and reads after a new set', async () => {
    const t = await setup()
    const v1 = parse(t.path)
    await (await t.open(t.alice, t.env.alice)).writeValue(TOKEN, utf8('rotated-v2'))
    expect(parse(t.path).values.get('/dev/api/token')!.version).toBe(2)
    replay(t.path, v1, '/dev/api/token')
    expect(await code(t.open(t.alice, t.env.alice).then((s) => s.readValue(TOKEN)))).toBe('TEAM_ROLLBACK')
    const r = await get(t, 'alice', 'dev/api/token')
    expect(r.code).toBe(4)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(ONE_ERROR)
    expect(r.stderr).toContain('key dev/api/token was replaced by a newer value this clone has seen (version 2; this file holds version 1): the file may be an old branch or a replay: merge the newer branch')
    expect(r.stderr).toContain('sstash set dev/api/token')
    // Other key paths read as before; --allow-old reads the old one knowingly.
    expect((await get(t, 'alice', 'prod/db/password')).stdout).toBe('prod-password')
    expect((await get(t, 'alice', 'dev/api/token', ['--allow-old'])).stdout).toBe('dev-token')
    expect(text(await (await t.open(t.alice, t.env.alice, { allowOld: true })).readValue(TOKEN))).toBe('dev-token')
    // Bob never read version 2 on his clone: he cannot tell (SECURITY.md states it).
    expect((await get(t, 'bob', 'dev/api/token')).stdout).toBe('dev-token')
    const set = await runBin('sstash', ['--stash', t.path, 'set', 'dev/api/token'], { ...as(t, 'alice'), input: 'v3' })
    expect(set.code).toBe(0)
    expect(parse(t.path).values.get('/dev/api/token')!.version).toBe(3)
    expect((await get(t, 'alice', 'dev/api/token')).stdout).toBe('v3')
  })

  it('shows a replay in the diff driver as the version going down', async () => {
    const t = await setup()
    const v1 = parse(t.path)
    await (await t.open(t.alice, t.env.alice)).writeValue(TOKEN, utf8('rotated-v2'))
    const before = await runBin('sstash', ['team', 'textconv', t.path])
    replay(t.path, v1, '/dev/api/token')
    const after = await runBin('sstash', ['team', 'textconv', t.path])
    expect(before.stdout).toMatch(/^value dev\/api\/token scope dev version 2 \[[0-9a-f]{8}\]$/m)
    expect(after.stdout).toMatch(/^value dev\/api\/token scope dev version 1 \[[0-9a-f]{8}\]$/m)
  })

  it('refuses a removed value brought back, and a removal copied back over a value set again', async () => {
    const t = await setup()
    const withValue = parse(t.path)
    await (await t.open(t.alice, t.env.alice)).update((tree) => tree.remove(TOKEN))
    const removed = parse(t.path)
    replay(t.path, withValue, '/dev/api/token')
    const back = await get(t, 'alice', 'dev/api/token')
    expect(back.code).toBe(4)
    expect(back.stderr).toContain('replaced by a newer value this clone has seen (version 2; this file holds version 1)')
    await (await t.open(t.alice, t.env.alice)).writeValue(TOKEN, utf8('set again'))
    replay(t.path, removed, '/dev/api/token')
    const gone = await get(t, 'alice', 'dev/api/token')
    expect(gone.code).toBe(4)
    expect(gone.stderr).toContain('key dev/api/token was set again after this removal this clone has seen (version 3; this file holds version 2)')
  })

  it('refuses a replay on the clone of a member who only read the newer value, and not on a fresh clone', async () => {
    const t = await setup()
    const v1 = parse(t.path)
    await (await t.open(t.alice, t.env.alice)).writeValue(TOKEN, utf8('rotated-v2'))
    expect((await get(t, 'bob', 'dev/api/token')).stdout).toBe('rotated-v2')
    replay(t.path, v1, '/dev/api/token')
    expect((await get(t, 'bob', 'dev/api/token')).code).toBe(4)
    // The limit: a clone that has never read the key path trusts what it sees first.
    const fresh = await get(t, 'bob', 'dev/api/token', [], clone())
    expect(fresh.code).toBe(0)
    expect(fresh.stdout).toBe('dev-token')
  })

  it('remembers key paths by a hash in a 0600 file of their own, never by name', async () => {
    const t = await setup()
    await get(t, 'alice', 'dev/api/token')
    const dir = join(t.env.alice.XDG_STATE_HOME as string, 'sstash', 'team-versions')
    const [name] = readdirSync(dir)
    const bytes = readFileSync(join(dir, name as string), 'latin1')
    expect(bytes).toMatch(/^([0-9a-f]{16} [0-9]{10}\n)+$/)
    expect(bytes).not.toMatch(/dev|api|token|prod/)
    expect(statSync(join(dir, name as string)).mode & 0o777).toBe(0o600)
    expect(statSync(dir).mode & 0o777).toBe(0o700)
  })

  it('settles a conflict at a version above both sides, so that a clone that read either side reads the result', async () => {
    const t = await setup()
    const base = readFileSync(t.path)
    // Theirs: two writes on a branch (version 3), read on bob's clone; ours: one write (version 2).
    const theirs = await t.open(t.bob, t.env.bob)
    await theirs.writeValue(TOKEN, utf8('theirs-1'))
    await theirs.writeValue(TOKEN, utf8('theirs-2'))
    const theirsBytes = readFileSync(t.path)
    writeFileSync(t.path, base)
    await (await t.open(t.alice, t.env.alice)).writeValue(TOKEN, utf8('ours'))
    const { SeenStore } = await import('../../src/team/seen.js')
    const { realPathOf } = await import('../../src/team/team-stash.js')
    const merged = mergeTeamFiles(base, readFileSync(t.path), theirsBytes, t.path, ids(t.alice), SeenStore.load(t.env.alice), realPathOf(t.path))
    expect(merged.conflicts).toEqual([TOKEN])
    writeFileSync(t.path, merged.bytes)
    await resolveConflict(await t.open(t.alice, t.env.alice), TOKEN, 'ours')
    expect(parse(t.path).values.get('/dev/api/token')!.version).toBe(4)
    expect((await get(t, 'bob', 'dev/api/token')).stdout).toBe('ours')
    expect((await get(t, 'alice', 'dev/api/token')).stdout).toBe('ours')
  })

  it('merges a key path removed on both sides at two versions without a conflict, keeping the newer removal', async () => {
    const t = await setup()
    const base = readFileSync(t.path)
    const ours = await t.open(t.alice, t.env.alice)
    await ours.writeValue(TOKEN, utf8('changed'))
    await ours.update((tree) => tree.remove(TOKEN))
    const oursBytes = readFileSync(t.path)
    writeFileSync(t.path, base)
    await (await t.open(t.bob, t.env.bob)).update((tree) => tree.remove(TOKEN))
    const merged = mergeTeamFiles(base, oursBytes, readFileSync(t.path), t.path)
    expect(merged.conflicts).toEqual([])
    const file = parseTeamFile(merged.bytes, 'merged')
    expect(file.tombstones.get('/dev/api/token')!.version).toBe(3)
  })

  it('refuses, with a value sealed again by hand at the version of a newer one, nothing but a tampered file', async () => {
    const t = await setup()
    const v1 = parse(t.path).values.get('/dev/api/token')!
    await (await t.open(t.alice, t.env.alice)).writeValue(TOKEN, utf8('rotated-v2'))
    const file = parse(t.path)
    // The outsider cannot raise the version of the old record: it is in the authenticated data.
    file.values.set('/dev/api/token', { ...v1, version: 5 })
    writeFileSync(t.path, serializeTeamFile(file))
    const r = await get(t, 'alice', 'dev/api/token')
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('does not verify')
    // A member of dev can (bob, with dev's key): that is a member's write, as the spec allows.
    const bobs = parse(t.path)
    bobs.values.set('/dev/api/token', sealValue(openKeyring(bobs, ids(t.bob), 'bob').key('dev'), bobs.teamId, { path: TOKEN, scope: 'dev', gen: 1, since: 1, version: 5 }, utf8('bob')))
    writeFileSync(t.path, serializeTeamFile(bobs))
    expect((await get(t, 'alice', 'dev/api/token')).stdout).toBe('bob')
  })
})

describe('team stash: a replay in real git', () => {
  const dir = tempDir()
  const git = (repo: string, env: Record<string, string>, ...args: string[]) => runCommand('git', args, { cwd: repo, env })

  it('refuses, on alice\'s clone, version 1 of a value an outsider\'s commit copies back, and a git revert of the change, until she sets it again', async () => {
    const key = newKey()
    writeFileSync(join(dir, 'key'), `${key.secret}\n`, { mode: 0o600 })
    const env = memberEnv(dir, join(dir, 'key'), 'alice')
    const eve = { ...env, GIT_AUTHOR_NAME: 'eve', GIT_AUTHOR_EMAIL: 'eve@example.com', GIT_COMMITTER_NAME: 'eve', GIT_COMMITTER_EMAIL: 'eve@example.com' }
    const repo = join(dir, 'repo')
    expect((await runCommand('git', ['init', '-q', '-b', 'main', repo], { env })).code).toBe(0)
    const path = join(repo, 'secrets.sstash')
    const sstash = (args: string[], input?: string) => runBin('sstash', ['--stash', path, ...args], { cwd: repo, env, input })
    const ok = async (p: Promise<RunResult>) => {
      const r = await p
      expect(r.code, r.stderr).toBe(0)
    }
    await ok(sstash(['team', 'init', '--as', 'alice', '--scope', 'dev=dev/']))
    await ok(sstash(['set', 'dev/api/token'], 'v1'))
    await ok(git(repo, env, 'add', 'secrets.sstash'))
    await ok(git(repo, env, 'commit', '-qm', 'v1'))
    await ok(sstash(['set', 'dev/api/token'], 'v2'))
    await ok(git(repo, env, 'commit', '-qam', 'v2'))
    // Eve's commit: the v1 record, from history, over the current one.
    const old = parseTeamFile(Buffer.from((await git(repo, env, 'show', 'HEAD~1:secrets.sstash')).stdout), 'old')
    replay(path, old, '/dev/api/token')
    await ok(git(repo, eve, 'commit', '-qam', 'tidy'))
    const r = await sstash(['get', 'dev/api/token'])
    expect(r.code).toBe(4)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain('key dev/api/token was replaced by a newer value this clone has seen')
    await ok(sstash(['set', 'dev/api/token'], 'v3'))
    expect((await sstash(['get', 'dev/api/token'])).stdout).toBe('v3')
    await ok(git(repo, env, 'commit', '-qam', 'v3'))
    // A revert of a value change looks the same as a replay: the message says to set it again.
    await ok(git(repo, env, 'revert', '--no-edit', 'HEAD'))
    const reverted = await sstash(['get', 'dev/api/token'])
    expect(reverted.code).toBe(4)
    expect(reverted.stderr).toMatch(/hint: if the value was changed back on purpose \(a git revert\), a member of dev checks it and runs `sstash set dev\/api\/token`/)
    expect(existsSync(dirname(path))).toBe(true)
  }, 60_000)
})
