/**
 * The team stash in real git repositories: clones of one origin (file:// remotes), members with
 * real age and ssh keys, the diff and merge drivers that `team git-setup` configures.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runBin, runCommand, tempDir, type RunResult } from '../helpers.js'

const dir = tempDir()
const origin = join(dir, 'origin.git')
const hasAge = spawnSync('age-keygen', ['-y', '/dev/null']).error === undefined

interface Member {
  name: string
  repo: string
  env: Record<string, string>
}

function member(name: string, kind: 'age' | 'ssh'): Member & { recipient: string } {
  const home = join(dir, name)
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

describe.skipIf(!hasAge)('team stash in git', () => {
  const alice = member('alice', 'age')
  const bob = member('bob', 'ssh')
  const carol = member('carol', 'age')

  it('sets up a team, shares it through git, and shows diffs without values', async () => {
    spawnSync('git', ['init', '-q', '--bare', '-b', 'main', origin])
    await ok(runCommand('git', ['clone', '-q', origin, alice.repo], { env: alice.env }))
    await ok(git(alice, 'checkout', '-q', '-b', 'main'))
    await ok(sstash(alice, ['team', 'init', '--as', 'alice', '--scope', 'dev=dev/', '--scope', 'prod=prod/']))
    await ok(sstash(alice, ['team', 'add', 'bob', '--key', bob.recipient, '--scope', 'dev']))
    await ok(sstash(alice, ['team', 'add', 'carol', '--key', carol.recipient, '--scope', 'dev']))
    await ok(sstash(alice, ['team', 'git-setup']))
    await set(alice, 'dev/shared', 'first')
    await set(alice, 'prod/db', 'prod-secret')
    await ok(git(alice, 'add', 'secrets.sstash', '.gitattributes'))
    await commit(alice, 'team stash')
    await ok(git(alice, 'push', '-q', 'origin', 'main'))
    for (const who of [bob, carol]) {
      await ok(runCommand('git', ['clone', '-q', origin, who.repo], { env: who.env }))
      await ok(sstash(who, ['team', 'git-setup']))
    }
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
    // Neighbouring keys changed on each side, and a new key each (not neighbours of each other).
    await set(alice, 'dev/a', 'A')
    await set(alice, 'dev/c', 'A')
    await set(alice, 'dev/a2', 'new from alice')
    await commit(alice, 'alice')
    await ok(git(alice, 'push', '-q'))
    await set(bob, 'dev/b', 'B')
    await set(bob, 'dev/d', 'B')
    await set(bob, 'dev/c2', 'new from bob')
    await commit(bob, 'bob')
    // Git's own merge, as a hosting service runs it: no driver configured at all.
    await ok(git(bob, 'config', '--remove-section', 'merge.sstash-team'))
    await ok(git(bob, 'pull', '-q', '--no-rebase', '--no-edit'))
    await ok(sstash(bob, ['team', 'git-setup']))
    const values = await Promise.all(['dev/a', 'dev/b', 'dev/c', 'dev/d', 'dev/a2', 'dev/c2'].map((key) => get(bob, key)))
    expect(values).toEqual(['A', 'B', 'A', 'B', 'new from alice', 'new from bob'])
    await ok(git(bob, 'push', '-q'))
    await ok(git(alice, 'pull', '-q', '--no-rebase'))
  })

  it('merges two new neighbouring keys with the merge driver, where git alone would conflict', async () => {
    await set(alice, 'dev/m1', 'from alice')
    await commit(alice, 'alice m1')
    await ok(git(alice, 'push', '-q'))
    await set(bob, 'dev/m2', 'from bob')
    await commit(bob, 'bob m2')
    await ok(git(bob, 'pull', '-q', '--no-rebase', '--no-edit'))
    expect([await get(bob, 'dev/m1'), await get(bob, 'dev/m2')]).toEqual(['from alice', 'from bob'])
    await ok(git(bob, 'push', '-q'))
    await ok(git(alice, 'pull', '-q', '--no-rebase'))
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
    expect(lines[lines.indexOf('value /dev/after') + 1]).toMatch(/^ dev 2 1 /)
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
