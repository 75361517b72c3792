/**
 * The team stash in real git repositories: clones of one origin (file:// remotes), members with
 * real age and ssh keys, the diff and merge drivers that `team git-setup` configures, and
 * membership changed on two branches.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { slotOf } from '../../src/team/format.js'
import { runBin, runCommand, tempDir, type RunResult } from '../helpers.js'

const dir = tempDir()
const origin = join(dir, 'origin.git')
const hasAge = spawnSync('age-keygen', ['-y', '/dev/null']).error === undefined

interface Member {
  name: string
  repo: string
  env: Record<string, string>
}

function member(name: string, kind: 'age' | 'ssh', home = join(dir, name)): Member & { recipient: string } {
  mkdirSync(home, { recursive: true })
  const key = join(home, 'key')
  if (kind === 'age') spawnSync('age-keygen', ['-o', key])
  else spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key])
  const recipient = kind === 'age' ? spawnSync('age-keygen', ['-y', key], { encoding: 'utf8' }).stdout.trim() : readFileSync(`${key}.pub`, 'utf8').trim()
  const env = {
    HOME: home,
    XDG_STATE_HOME: join(home, 'state'),
    XDG_DATA_HOME: join(home, 'data'),
    SSTASH_IDENTITY_FILE: key,
    GIT_AUTHOR_NAME: name,
    GIT_AUTHOR_EMAIL: `${name}@example.com`,
    GIT_COMMITTER_NAME: name,
    GIT_COMMITTER_EMAIL: `${name}@example.com`,
    GIT_CONFIG_NOSYSTEM: '1',
  }
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

/** Where a new key path's record goes in `who`'s file: after the value records of lower slots (docs/TEAM.md). */
const place = (who: Member, path: string): number =>
  readFileSync(join(who.repo, 'secrets.sstash'), 'utf8').split('\n').filter((line) => line.startsWith('value ') && line.split(' ')[1]! < slotOf(`/${path}`)).length

/** Two new key paths `<prefix><n>` whose records land in one place (together), or apart. */
function pair(who: Member, prefix: string, together: boolean): [string, string] {
  const names = Array.from({ length: 40 }, (_, i) => `${prefix}${i}`)
  for (const a of names) for (const b of names) if (a < b && (place(who, a) === place(who, b)) === together) return [a, b]
  throw new Error('no such pair of names')
}

describe.skipIf(!hasAge)('team stash in git', () => {
  const alice = member('alice', 'age')
  const bob = member('bob', 'ssh')
  const carol = member('carol', 'age')

  it('sets up a team, shares it through git, and shows diffs without values', async () => {
    await shareTeam(origin, alice, [[bob, 'dev'], [carol, 'dev']], [['dev/shared', 'first'], ['prod/db', 'prod-secret']])
    expect(await get(bob, 'dev/shared')).toBe('first')

    await set(alice, 'dev/new', 'value-never-shown')
    const diff = await ok(git(alice, 'diff'))
    expect(diff).toMatch(/^\+value dev\/new scope dev \[[0-9a-f]{8}\]$/m)
    expect(diff).not.toMatch(/value-never-shown/)
    // No ciphertext either: the only long base64-looking words are members' public keys.
    for (const line of diff.split('\n').filter((l) => !/member /.test(l))) expect(line).not.toMatch(/[A-Za-z0-9+/]{40}/)
    await ok(git(alice, 'checkout', '-q', '--', 'secrets.sstash'))
  })

  it('merges edits of different keys on two branches with a plain git merge, and both values read', async () => {
    for (const key of ['dev/a', 'dev/b', 'dev/c', 'dev/d']) await set(alice, key, 'base')
    await commit(alice, 'four keys')
    await ok(git(alice, 'push', '-q'))
    await ok(git(bob, 'pull', '-q', '--no-rebase'))
    // Neighbouring keys changed on each side, and a new key each (whose records land apart).
    const [fromAlice, fromBob] = pair(bob, 'dev/new', false)
    await set(alice, 'dev/a', 'A')
    await set(alice, 'dev/c', 'A')
    await set(alice, fromAlice, 'new from alice')
    await commit(alice, 'alice')
    await ok(git(alice, 'push', '-q'))
    await set(bob, 'dev/b', 'B')
    await set(bob, 'dev/d', 'B')
    await set(bob, fromBob, 'new from bob')
    await commit(bob, 'bob')
    // Git's own merge, as a hosting service runs it: no driver configured at all.
    await ok(git(bob, 'config', '--remove-section', 'merge.sstash-team'))
    await ok(git(bob, 'pull', '-q', '--no-rebase', '--no-edit'))
    await ok(sstash(bob, ['team', 'git-setup']))
    const values = await Promise.all(['dev/a', 'dev/b', 'dev/c', 'dev/d', fromAlice, fromBob].map((key) => get(bob, key)))
    expect(values).toEqual(['A', 'B', 'A', 'B', 'new from alice', 'new from bob'])
    await ok(git(bob, 'push', '-q'))
    await ok(git(alice, 'pull', '-q', '--no-rebase'))
  })

  it('merges new keys with git alone where their slots land apart, and with the merge driver where they land in one place', async () => {
    const addOnEach = async ([a, b]: [string, string]): Promise<void> => {
      await set(alice, a, `alice ${a}`)
      await commit(alice, `alice ${a}`)
      await ok(git(alice, 'push', '-q'))
      await set(bob, b, `bob ${b}`)
      await commit(bob, `bob ${b}`)
    }
    const bothRead = async ([a, b]: [string, string]): Promise<void> => {
      expect([await get(bob, a), await get(bob, b)]).toEqual([`alice ${a}`, `bob ${b}`])
      await ok(git(bob, 'push', '-q'))
      await ok(git(alice, 'pull', '-q', '--no-rebase'))
    }
    // Sibling key paths whose records land apart: git's own merge, as a hosting service runs it.
    const apart = pair(bob, 'dev/apart', false)
    await addOnEach(apart)
    await ok(git(bob, 'config', '--remove-section', 'merge.sstash-team'))
    await ok(git(bob, 'pull', '-q', '--no-rebase', '--no-edit'))
    await bothRead(apart)
    // Two that land in one place: git alone conflicts, the driver merges them.
    const together = pair(bob, 'dev/together', true)
    await addOnEach(together)
    expect((await git(bob, 'pull', '-q', '--no-rebase', '--no-edit')).code).not.toBe(0)
    await ok(git(bob, 'merge', '--abort'))
    await ok(sstash(bob, ['team', 'git-setup']))
    await ok(git(bob, 'pull', '-q', '--no-rebase', '--no-edit'))
    await bothRead(together)
  })

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

  it('re-encrypts the other side\'s edits under the key a removal rotated to, and lists them as exposed', async () => {
    await ok(git(carol, 'pull', '-q', '--no-rebase'))
    await ok(sstash(alice, ['team', 'rm', 'carol']))
    await commit(alice, 'remove carol')
    await ok(git(alice, 'push', '-q'))
    // Bob had not pulled the removal: his new value is under the old key, which carol holds.
    await set(bob, 'dev/after', 'set-on-a-branch')
    await commit(bob, 'bob after')
    const pull = await git(bob, 'pull', '-q', '--no-rebase', '--no-edit')
    expect(pull.code, pull.stderr).toBe(0)
    expect(pull.stderr).toMatch(/re-encrypted 1 values/)
    const lines = readFileSync(join(bob.repo, 'secrets.sstash'), 'utf8').split('\n')
    // Now under generation 2 of dev (which carol lacks), still marked as set under generation 1.
    expect(lines[lines.indexOf(`value ${slotOf('/dev/after')} /dev/after`) + 1]).toMatch(/^ dev 2 1 /)
    expect(await get(bob, 'dev/after')).toBe('set-on-a-branch')
    expect((await sstash(bob, ['team', 'exposed'])).stdout).toMatch(/^dev\/after\tscope dev$/m)
    // Carol, removed, cannot open the merged file at all.
    await ok(git(bob, 'push', '-q'))
    await ok(git(carol, 'pull', '-q', '--no-rebase'))
    expect((await sstash(carol, ['get', 'dev/after'])).stderr).toMatch(/NOT_A_MEMBER|is not a member/)
  })

  it('refuses the file rolled back to the membership that had the removed member', async () => {
    await ok(git(alice, 'pull', '-q', '--no-rebase'))
    expect(await get(alice, 'dev/shared')).toBe('alice-version')
    // Carol, who can still push, puts back the version from before her removal.
    const before = (await ok(git(alice, 'log', '--format=%H', '--grep', 'remove carol'))).trim()
    await ok(git(alice, 'checkout', '-q', `${before}~1`, '--', 'secrets.sstash'))
    const rolledBack = await sstash(alice, ['get', 'dev/shared'])
    expect(rolledBack.code).not.toBe(0)
    expect(rolledBack.stderr).toMatch(/^sstash: error: .*scope dev is at key generation 1, older than generation 2 this clone has seen: the file was rolled back\n/)
    await ok(git(alice, 'checkout', '-q', 'HEAD', '--', 'secrets.sstash'))
  })
})

describe.skipIf(!hasAge)('team stash in git, members changed on two branches', () => {
  const root = join(dir, 'members')
  const remote = join(root, 'origin.git')
  const at = (name: string, kind: 'age' | 'ssh' = 'age') => member(name, kind, join(root, name))
  const [alice, carol, ops, bob, dave] = [at('alice'), at('carol'), at('ops'), at('bob', 'ssh'), at('dave')]
  const as = (who: Member, identity: Member): Member => ({ ...who, env: { ...who.env, SSTASH_IDENTITY_FILE: identity.env.SSTASH_IDENTITY_FILE as string } })
  const file = (who: Member): string => readFileSync(join(who.repo, 'secrets.sstash'), 'utf8')
  /** Expects the merge to have stopped with our file left as it was, then abandons our branch's commit. */
  const stoppedWithOurs = async (who: Member, merge: RunResult): Promise<void> => {
    expect(merge.code).not.toBe(0)
    expect(file(who)).toBe(await ok(git(who, 'show', 'HEAD:secrets.sstash')))
    await ok(git(who, 'merge', '--abort'))
  }

  it('sets up a team with scopes dev and prod in a shared origin', async () => {
    mkdirSync(root, { recursive: true })
    await shareTeam(remote, alice, [[carol, 'dev'], [ops, 'prod']], [['dev/shared', 'dev-secret'], ['prod/db', 'prod-secret']])
    expect(await get(carol, 'dev/shared')).toBe('dev-secret')
  })

  it('stops a merge of members added to dev on two branches when the merging identity does not hold dev, signing nothing', async () => {
    await ok(sstash(alice, ['team', 'add', 'bob', '--key', bob.recipient, '--scope', 'dev']))
    await commit(alice, 'add bob')
    await ok(git(alice, 'push', '-q'))
    await ok(sstash(carol, ['team', 'add', 'dave', '--key', dave.recipient, '--scope', 'dev']))
    await commit(carol, 'add dave')
    // Ops holds prod only: it cannot check either side's dev membership, nor sign the union.
    const pull = await git(as(carol, ops), 'pull', '-q', '--no-rebase', '--no-edit')
    expect(pull.stderr).toMatch(/^sstash: error: secrets\.sstash: membership changed on both sides, and the merge driver cannot decide it: merging the members of scope dev needs its key, and your identity does not hold scope dev\nsstash: hint: a member of scope dev runs the merge/m)
    await stoppedWithOurs(carol, pull)
  })

  it('merges members added to dev on two branches with the merge driver, and every member opens the result', async () => {
    const pull = await git(carol, 'pull', '-q', '--no-rebase', '--no-edit')
    expect(pull.code, pull.stderr).toBe(0)
    expect(pull.stderr).toMatch(/^sstash: secrets\.sstash: merged the members both branches added to scope dev, signed with your key$/m)
    await ok(git(carol, 'push', '-q'))
    for (const who of [bob, dave]) {
      await ok(runCommand('git', ['clone', '-q', remote, who.repo], { env: who.env }))
      expect(await get(who, 'dev/shared')).toBe('dev-secret')
      expect((await sstash(who, ['get', 'prod/db'])).stderr).toMatch(/NO_ACCESS|does not hold/)
    }
    for (const who of [alice, ops]) await ok(git(who, 'pull', '-q', '--no-rebase'))
    for (const who of [alice, carol]) expect(await get(who, 'dev/shared')).toBe('dev-secret')
    expect(await get(ops, 'prod/db')).toBe('prod-secret')
    const ls = await ok(sstash(ops, ['team', 'ls']))
    expect(ls.match(/^member \S+/gm)).toEqual(['member alice', 'member bob', 'member carol', 'member dave', 'member ops'])
    expect(ls).toMatch(/^member bob .* scopes dev$/m)
    expect(ls).toMatch(/^member dave .* scopes dev$/m)
    await set(dave, 'dev/from-dave', 'after the merge')
    expect(await get(dave, 'dev/from-dave')).toBe('after the merge')
  })

  it('stops a merge of one member name added on both branches with different keys, leaving our file', async () => {
    const [one, two] = [at('erin1'), at('erin2')]
    await ok(sstash(alice, ['team', 'add', 'erin', '--key', one.recipient, '--scope', 'dev']))
    await commit(alice, 'add erin')
    await ok(git(alice, 'push', '-q'))
    await ok(sstash(carol, ['team', 'add', 'erin', '--key', two.recipient, '--scope', 'dev']))
    await commit(carol, 'add another erin')
    const pull = await git(carol, 'pull', '-q', '--no-rebase', '--no-edit')
    expect(pull.stderr).toMatch(/^sstash: error: secrets\.sstash: membership changed on both sides, and the merge driver cannot decide it: member erin was added with a different key on each side\nsstash: hint: keep one side/m)
    await stoppedWithOurs(carol, pull)
    await ok(git(carol, 'reset', '-q', '--hard', 'origin/main'))
  })

  it('refuses to merge a branch whose membership was forged, instead of signing it', async () => {
    const mallory = at('mallory')
    // Someone with push access adds a member with a key of their own choosing, without the scope key.
    await ok(git(alice, 'checkout', '-q', '-b', 'forged'))
    await ok(sstash(alice, ['team', 'add', 'frank', '--key', at('frank').recipient, '--scope', 'dev']))
    writeFileSync(join(alice.repo, 'secrets.sstash'), file(alice).replace(/^member frank \S+$/m, `member frank ${mallory.recipient}`))
    await commit(alice, 'forged')
    await ok(git(alice, 'push', '-q', 'origin', 'forged'))
    await ok(git(alice, 'checkout', '-q', 'main'))
    await ok(sstash(carol, ['team', 'add', 'gina', '--key', at('gina').recipient, '--scope', 'dev']))
    await commit(carol, 'add gina')
    await ok(git(carol, 'fetch', '-q'))
    const merge = await git(carol, 'merge', '--no-edit', 'origin/forged')
    expect(merge.stderr).toMatch(/^sstash: error: secrets\.sstash \(their side\): the membership of scope dev does not verify: it was changed by someone without the scope's key/m)
    await stoppedWithOurs(carol, merge)
    await ok(git(carol, 'reset', '-q', '--hard', 'origin/main'))
    expect(await get(carol, 'dev/shared')).toBe('dev-secret')
  })

  it('stops a merge of two removals on two branches, each of which gave dev a new key', async () => {
    await ok(sstash(alice, ['team', 'rm', 'bob']))
    await commit(alice, 'remove bob')
    await ok(git(alice, 'push', '-q'))
    await ok(sstash(carol, ['team', 'rm', 'dave']))
    await commit(carol, 'remove dave')
    const pull = await git(carol, 'pull', '-q', '--no-rebase', '--no-edit')
    expect(pull.stderr).toMatch(/^sstash: error: secrets\.sstash: membership changed on both sides, and the merge driver cannot decide it: scope dev got a different new key on each side \(two `team rm`\)\nsstash: hint: keep one side/m)
    await stoppedWithOurs(carol, pull)
  })
})
