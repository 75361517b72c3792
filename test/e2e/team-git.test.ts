/**
 * The team stash in real git repositories: clones of one origin (file:// remotes), members with
 * keys from our own generateIdentity (and an ssh-keygen key where it exists), the diff and merge
 * drivers that `team git-setup` configures, git's own merge with no driver, old branches after
 * a removal, a removed member's branch merged into main, and membership changed on two branches.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { generateIdentity, parseIdentities } from '../../src/team/keys.js'
import { runBin, runCommand, tempDir, type RunResult, memberEnv } from '../helpers.js'

const dir = tempDir()
const origin = join(dir, 'origin.git')
const hasSsh = spawnSync('ssh-keygen', ['-?']).error === undefined

interface Member {
  name: string
  repo: string
  env: Record<string, string>
}

function member(name: string, kind: 'age' | 'ssh', home = join(dir, name)): Member & { recipient: string } {
  mkdirSync(home, { recursive: true })
  const key = join(home, 'key')
  let recipient: string
  if (kind === 'ssh' && hasSsh) {
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key])
    recipient = readFileSync(`${key}.pub`, 'utf8').trim()
  } else {
    const secret = generateIdentity(new Uint8Array(randomBytes(32)))
    writeFileSync(key, `${secret}\n`, { mode: 0o600 })
    recipient = (parseIdentities(secret, key)[0] as { recipient: string }).recipient
  }
  const env = memberEnv(home, key, name)
  return { name, repo: join(home, 'repo'), env, recipient }
}

async function git(who: Member, ...args: string[]): Promise<RunResult> {
  return runCommand('git', args, { cwd: who.repo, env: who.env })
}
async function ok(result: Promise<RunResult>): Promise<string> {
  const done = await result
  expect(done.stderr + done.stdout, `exit ${done.code}`).toSatisfy(() => done.code === 0)
  return done.stdout
}
const sstash = (who: Member, args: string[], input?: string): Promise<RunResult> =>
  runBin('sstash', ['--stash', join(who.repo, 'secrets.sstash'), ...args], { cwd: who.repo, env: who.env, input })
const set = async (who: Member, key: string, value: string): Promise<void> => {
  await ok(sstash(who, ['set', key], value))
}
const get = async (who: Member, key: string): Promise<string> => ok(sstash(who, ['get', key]))
const commit = async (who: Member, message: string): Promise<void> => {
  await ok(git(who, 'commit', '-qam', message))
}

/**
 * A bare origin at `originPath`, and in it `first`'s team stash (scopes dev and prod) with the
 * `members` added to their scopes and `values` set, committed and pushed; then each member's
 * clone of it, with the drivers set up.
 */
async function shareTeam(originPath: string, first: Member, members: [Member & { recipient: string }, string][], values: [string, string][]): Promise<void> {
  spawnSync('git', ['init', '-q', '--bare', '-b', 'main', originPath])
  await ok(runCommand('git', ['clone', '-q', originPath, first.repo], { env: first.env }))
  await ok(git(first, 'checkout', '-q', '-b', 'main'))
  await ok(sstash(first, ['team', 'init', '--as', first.name, '--scope', 'dev=dev/', '--scope', 'prod=prod/']))
  for (const [who, scope] of members) await ok(sstash(first, ['team', 'add', who.name, '--key', who.recipient, '--scope', scope]))
  await ok(sstash(first, ['team', 'git-setup']))
  for (const [key, value] of values) await set(first, key, value)
  await ok(git(first, 'add', 'secrets.sstash', '.gitattributes'))
  await commit(first, 'team stash')
  await ok(git(first, 'push', '-q', 'origin', 'main'))
  for (const [who] of members) {
    await ok(runCommand('git', ['clone', '-q', originPath, who.repo], { env: who.env }))
    await ok(sstash(who, ['team', 'git-setup']))
  }
}

describe('team stash in git', () => {
  const alice = member('alice', 'age')
  const bob = member('bob', 'ssh')
  const carol = member('carol', 'age')

  it('sets up a team, shares it through git, and shows diffs without values', async () => {
    await shareTeam(origin, alice, [[bob, 'dev'], [carol, 'dev']], [['dev/shared', 'first'], ['prod/db', 'prod-secret']])
    expect(await get(bob, 'dev/shared')).toBe('first')

    await set(alice, 'dev/new', 'value-never-shown')
    const diff = await ok(git(alice, 'diff'))
    expect(diff).toMatch(/^\+value dev\/new scope dev version 1 \[[0-9a-f]{8}\]$/m)
    expect(diff).not.toMatch(/value-never-shown/)
    // No ciphertext either: the only long base64-looking words are members' public keys.
    for (const line of diff.split('\n').filter((l) => !/member /.test(l))) expect(line).not.toMatch(/[A-Za-z0-9+/]{40}/)
    await ok(git(alice, 'checkout', '-q', '--', 'secrets.sstash'))
  })

  it('merges edits of different keys, new keys and removals on two branches with git alone, and every value reads', async () => {
    for (const key of ['dev/a', 'dev/b', 'dev/c', 'dev/d']) await set(alice, key, 'base')
    await commit(alice, 'four keys')
    await ok(git(alice, 'push', '-q'))
    await ok(git(bob, 'pull', '-q', '--no-rebase'))
    await set(alice, 'dev/a', 'A')
    await set(alice, 'dev/new-from-alice', 'new from alice')
    await ok(sstash(alice, ['rm', 'dev/c']))
    await commit(alice, 'alice')
    await ok(git(alice, 'push', '-q'))
    await set(bob, 'dev/b', 'B')
    await set(bob, 'dev/new-from-bob', 'new from bob')
    await ok(sstash(bob, ['rm', 'dev/d']))
    await commit(bob, 'bob')
    // Git's own merge, as a hosting service runs it: no driver configured at all.
    await ok(git(bob, 'config', '--remove-section', 'merge.sstash-team'))
    await ok(git(bob, 'pull', '-q', '--no-rebase', '--no-edit'))
    await ok(sstash(bob, ['team', 'git-setup']))
    const values = await Promise.all(['dev/a', 'dev/b', 'dev/new-from-alice', 'dev/new-from-bob'].map((key) => get(bob, key)))
    expect(values).toEqual(['A', 'B', 'new from alice', 'new from bob'])
    expect((await sstash(bob, ['ls', 'dev'])).stdout).not.toMatch(/^dev\/[cd]$/m)
    await ok(git(bob, 'push', '-q'))
    await ok(git(alice, 'pull', '-q', '--no-rebase'))
  })

  it('merges two branches that each add a new key with git alone, in a sample of 20 trials (bench/team-merge.mjs measures more)', async () => {
    const repo = join(dir, 'trials')
    const me: Member = { ...alice, repo }
    await ok(runCommand('git', ['clone', '-q', origin, repo], { env: alice.env }))
    let conflicts = 0
    for (let i = 0; i < 20; i++) {
      await ok(git(me, 'checkout', '-q', '-b', `a${i}`, 'main'))
      await set(me, `dev/trial/${randomBytes(4).toString('hex')}`, 'a')
      await commit(me, 'a')
      await ok(git(me, 'checkout', '-q', '-b', `b${i}`, 'main'))
      await set(me, `dev/trial/${randomBytes(4).toString('hex')}`, 'b')
      await commit(me, 'b')
      const merge = await git(me, 'merge', '-q', '--no-edit', `a${i}`)
      if (merge.code !== 0) {
        conflicts++
        await ok(git(me, 'merge', '--abort'))
      }
      await ok(git(me, 'checkout', '-q', 'main'))
    }
    // About 1 in 256 + n per trial (docs/TEAM.md): one conflict in 20 is already very unlikely.
    expect(conflicts).toBeLessThanOrEqual(1)
  }, 180_000)

  it('turns the same key changed on both sides into a conflict that team resolve settles', async () => {
    await set(alice, 'dev/shared', 'alice-version')
    await commit(alice, 'alice shared')
    await ok(git(alice, 'push', '-q'))
    await set(bob, 'dev/shared', 'bob-version')
    await commit(bob, 'bob shared')
    const pull = await git(bob, 'pull', '-q', '--no-rebase', '--no-edit')
    expect(pull.code).not.toBe(0)
    expect(pull.stderr).toMatch(/dev\/shared/)
    expect((await sstash(bob, ['team', 'resolve'])).stdout).toBe('dev/shared\n')
    const conflicted = await sstash(bob, ['get', 'dev/shared'])
    expect(conflicted.stderr).toMatch(/^sstash: error: key dev\/shared has an unresolved merge conflict\nsstash: hint: /)
    await ok(sstash(bob, ['team', 'resolve', 'dev/shared', '--theirs']))
    expect(await get(bob, 'dev/shared')).toBe('alice-version')
    await ok(git(bob, 'add', 'secrets.sstash'))
    await ok(git(bob, 'commit', '-q', '--no-edit'))
    await ok(git(bob, 'push', '-q'))
    await ok(git(alice, 'pull', '-q', '--no-rebase'))
  })

  it('refuses an old branch after a removal, naming it, reads it with --allow-old, and reads again once main is merged in', async () => {
    await ok(git(bob, 'checkout', '-q', '-b', 'old-feature'))
    await set(bob, 'dev/feature', 'from the old branch')
    await commit(bob, 'old feature')
    await ok(git(bob, 'checkout', '-q', 'main'))
    await ok(sstash(alice, ['team', 'rm', 'carol']))
    await commit(alice, 'remove carol')
    await ok(git(alice, 'push', '-q'))
    await ok(git(bob, 'pull', '-q', '--no-rebase'))
    expect(await get(bob, 'dev/shared')).toBe('alice-version')
    await ok(git(bob, 'checkout', '-q', 'old-feature'))
    const old = await sstash(bob, ['get', 'dev/shared'])
    expect(old.code).toBe(4)
    expect(old.stderr).toMatch(/^sstash: error: .*this file predates the removal of carol from dev \(generation 2\); merge the branch that made it\n/)
    expect((await sstash(bob, ['--allow-old', 'get', 'dev/feature'])).stdout).toBe('from the old branch')
    await ok(git(bob, 'merge', '-q', '--no-edit', 'main'))
    // Bob set the value under the old key: after the merge it must be set again, never laundered.
    const stale = await sstash(bob, ['get', 'dev/feature'])
    expect(stale.code).toBe(4)
    expect(stale.stderr).toMatch(/^sstash: error: key dev\/feature was set under an old key of scope dev .*set again/)
    expect((await sstash(bob, ['team', 'ls'])).stdout).toMatch(/^set-again dev\/feature scope dev generation 1$/m)
    await set(bob, 'dev/feature', 'set again')
    expect(await get(bob, 'dev/feature')).toBe('set again')
    await commit(bob, 'set again')
    await ok(git(bob, 'checkout', '-q', 'main'))
  })

  it('refuses every value a removed member wrote on a branch cut before the removal, merged into main by git alone', async () => {
    // Carol's clone never pulled the removal: she writes with her old key and pushes a branch.
    await ok(git(carol, 'checkout', '-q', '-b', 'carol-late'))
    await set(carol, 'dev/planted', 'carol chose this')
    await set(carol, 'dev/shared', 'carol overwrote this')
    await commit(carol, 'late')
    await ok(git(carol, 'push', '-q', 'origin', 'carol-late'))
    await ok(git(alice, 'fetch', '-q'))
    await ok(git(alice, 'config', '--remove-section', 'merge.sstash-team'))
    const merge = await git(alice, 'merge', '-q', '--no-edit', 'origin/carol-late')
    await ok(sstash(alice, ['team', 'git-setup']))
    if (merge.code !== 0) {
      // dev/shared was re-encrypted by the removal and changed by carol: git stops there.
      await ok(git(alice, 'checkout', '--theirs', 'secrets.sstash'))
    }
    for (const key of ['dev/planted', 'dev/shared']) {
      const got = await sstash(alice, ['get', key])
      expect([got.code, got.stdout]).toEqual([4, ''])
      expect(got.stderr).toMatch(/(set under an old key|predates the removal of carol)/)
    }
    await ok(git(alice, 'reset', '-q', '--hard', 'origin/main'))
  })
})

describe('team stash in git, members changed on two branches', () => {
  const root = join(dir, 'members')
  const remote = join(root, 'origin.git')
  const at = (name: string, kind: 'age' | 'ssh' = 'age') => member(name, kind, join(root, name))
  const [alice, carol, ops, bob, dave] = [at('alice'), at('carol'), at('ops'), at('bob', 'ssh'), at('dave')]
  const file = (who: Member): string => readFileSync(join(who.repo, 'secrets.sstash'), 'utf8')

  it('sets up a team with scopes dev and prod in a shared origin, ops an admin too', async () => {
    mkdirSync(root, { recursive: true })
    await shareTeam(remote, alice, [[carol, 'dev'], [ops, 'prod']], [['dev/shared', 'dev-secret'], ['prod/db', 'prod-secret']])
    await ok(sstash(alice, ['team', 'add', 'ops', '--admin', '--scope', 'dev']))
    await commit(alice, 'ops is an admin')
    await ok(git(alice, 'push', '-q'))
    await ok(git(ops, 'pull', '-q', '--no-rebase'))
    expect(await get(carol, 'dev/shared')).toBe('dev-secret')
  })

  it('refuses team add by a member who is not an admin', async () => {
    const add = await sstash(carol, ['team', 'add', 'bob', '--key', bob.recipient, '--scope', 'dev'])
    expect([add.code, add.stderr.split('\n')[0]]).toEqual([1, 'sstash: error: you (carol) are not an admin of this team stash: only admins change its members and scopes'])
  })

  it('stops a merge of membership changed on both branches run by a non-admin, and lets an admin merge it', async () => {
    await ok(sstash(alice, ['team', 'add', 'bob', '--key', bob.recipient, '--scope', 'dev']))
    await commit(alice, 'add bob')
    await ok(git(alice, 'push', '-q'))
    await ok(git(ops, 'checkout', '-q', '-b', 'add-dave'))
    await ok(sstash(ops, ['team', 'add', 'dave', '--key', dave.recipient, '--scope', 'dev']))
    await commit(ops, 'add dave')
    await ok(git(ops, 'push', '-q', 'origin', 'add-dave'))
    await ok(git(carol, 'pull', '-q', '--no-rebase'))
    await ok(git(carol, 'fetch', '-q'))
    const merge = await git(carol, 'merge', '--no-edit', 'origin/add-dave')
    expect(merge.code).not.toBe(0)
    expect(merge.stderr).toMatch(/only an admin can merge it/)
    expect(file(carol)).toBe(await ok(git(carol, 'show', 'HEAD:secrets.sstash')))
    await ok(git(carol, 'merge', '--abort'))
    await ok(git(alice, 'fetch', '-q'))
    await ok(git(alice, 'merge', '-q', '--no-edit', 'origin/add-dave'))
    await ok(git(alice, 'push', '-q'))
    for (const who of [carol, ops]) await ok(git(who, 'checkout', '-q', 'main'))
    for (const who of [carol, ops]) await ok(git(who, 'pull', '-q', '--no-rebase'))
    for (const who of [alice, carol, ops]) expect(await get(who, 'dev/shared')).toBe('dev-secret')
  })

  it('refuses to merge a branch whose membership was forged, and leaves our file as it was', async () => {
    await ok(git(alice, 'checkout', '-q', '-b', 'forged'))
    const text = file(alice).replace(/^member carol .*$/m, `member carol ${dave.recipient}`)
    writeFileSync(join(alice.repo, 'secrets.sstash'), text)
    await commit(alice, 'forged')
    await ok(git(alice, 'push', '-q', 'origin', 'forged'))
    await ok(git(alice, 'checkout', '-q', 'main'))
    await set(carol, 'dev/x', 'x')
    await commit(carol, 'x')
    await ok(git(carol, 'fetch', '-q'))
    const merge = await git(carol, 'merge', '--no-edit', 'origin/forged')
    expect(merge.code).not.toBe(0)
    expect(merge.stderr).toMatch(/does not verify against the team's signing key/)
    expect(file(carol)).toBe(await ok(git(carol, 'show', 'HEAD:secrets.sstash')))
    await ok(git(carol, 'merge', '--abort'))
  })
})
