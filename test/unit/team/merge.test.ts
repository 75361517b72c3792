/**
 * The merge driver's record-by-record merge, on team stashes made with real age keys: changes
 * on one side, conflicts on values, membership changed on both sides, and the textconv view.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseIdentities } from '../../../src/team/keys.js'
import { addMember, createTeam, resolveConflict } from '../../../src/team/membership.js'
import { mergeTeamFiles } from '../../../src/team/merge.js'
import { TeamStash } from '../../../src/team/team-stash.js'
import { textconv } from '../../../src/team/textconv.js'
import { tempDir } from '../../helpers.js'

const dir = tempDir()
// Debian's `age` package (age, age-keygen); .ci/run installs it.
const hasAge = spawnSync('age-keygen', ['-y', '/dev/null']).error === undefined
let n = 0
const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text))

function ageKey(): { recipient: string; secret: string } {
  const file = join(dir, `k${n++}`)
  spawnSync('age-keygen', ['-o', file])
  return { recipient: spawnSync('age-keygen', ['-y', file], { encoding: 'utf8' }).stdout.trim(), secret: readFileSync(file, 'utf8') }
}

/** A base file, and a function that makes a side: a copy of the base changed by `fn`. */
async function base() {
  const path = join(dir, `base-${n++}.sstash`)
  const alice = ageKey()
  const env = { XDG_STATE_HOME: join(dir, `state-${n++}`) }
  await createTeam(path, 'alice', alice.recipient, [{ name: 'dev', prefix: ['dev'] }], env)
  const stash = await TeamStash.open(path, parseIdentities(alice.secret, 'alice'), env)
  await stash.update((tree) => {
    for (const key of ['a', 'b', 'c']) tree.write(['dev', key], utf8('base'))
  })
  const bytes = new Uint8Array(readFileSync(path))
  const side = async (fn: (s: TeamStash) => Promise<unknown>): Promise<Uint8Array> => {
    const copy = join(dir, `side-${n++}.sstash`)
    writeFileSync(copy, bytes)
    await fn(await TeamStash.open(copy, parseIdentities(alice.secret, 'alice'), { XDG_STATE_HOME: join(dir, `state-${n++}`) }))
    return new Uint8Array(readFileSync(copy))
  }
  return { bytes, side, alice }
}

describe.skipIf(!hasAge)('team merge driver', () => {
  it('takes each side\'s changes of different values, neighbours and additions included', async () => {
    const b = await base()
    const ours = await b.side((s) => s.update((t) => { t.write(['dev', 'a'], utf8('A')); t.write(['dev', 'aa'], utf8('new')) }))
    const theirs = await b.side((s) => s.update((t) => { t.write(['dev', 'b'], utf8('B')); t.write(['dev', 'ab'], utf8('new too')); t.remove(['dev', 'c']) }))
    const merged = mergeTeamFiles(b.bytes, ours, theirs, 'x')
    expect(merged.conflicts).toEqual([])
    const view = textconv(merged.bytes, 'x')
    expect(view.match(/^value \S+/gm)).toEqual(['value dev/a', 'value dev/aa', 'value dev/ab', 'value dev/b'])
  })

  it('records a value changed on both sides as a conflict that resolve settles either way', async () => {
    const b = await base()
    const ours = await b.side((s) => s.writeValue(['dev', 'a'], utf8('ours')))
    const theirs = await b.side((s) => s.writeValue(['dev', 'a'], utf8('theirs')))
    const merged = mergeTeamFiles(b.bytes, ours, theirs, 'x')
    expect(merged.conflicts).toEqual([['dev', 'a']])
    for (const [side, expected] of [['ours', 'ours'], ['theirs', 'theirs']] as const) {
      const path = join(dir, `merged-${n++}.sstash`)
      writeFileSync(path, merged.bytes)
      const env = { XDG_STATE_HOME: join(dir, `state-${n++}`) }
      const stash = await TeamStash.open(path, parseIdentities(b.alice.secret, 'alice'), env)
      await expect(stash.readValue(['dev', 'a'])).rejects.toThrow(expect.objectContaining({ code: 'TEAM_CONFLICT' }))
      await resolveConflict(stash, ['dev', 'a'], side)
      expect(Buffer.from(await stash.readValue(['dev', 'a'])).toString()).toBe(expected)
    }
  })

  it('shows a file with git conflict markers without any ciphertext', async () => {
    const b = await base()
    const text = Buffer.from(b.bytes).toString().replace('member alice', '<<<<<<< HEAD\nmember alice')
    const view = textconv(new Uint8Array(Buffer.from(text)), 'x')
    expect(view).toMatch(/^<<<<<<< HEAD$/m)
    for (const field of text.split(/[\s]+/).filter((f) => f.length >= 24)) expect(view).not.toContain(field)
  })

  it('refuses membership changed on both sides of one scope, and two different teams', async () => {
    const b = await base()
    const ours = await b.side((s) => addMember(s, 'bob', ageKey().recipient))
    const theirs = await b.side((s) => addMember(s, 'carol', ageKey().recipient))
    expect(() => mergeTeamFiles(b.bytes, ours, theirs, 'x')).toThrow(expect.objectContaining({ code: 'TEAM_CONFLICT', message: expect.stringMatching(/membership changed on both sides/) }))
    const other = await base()
    expect(() => mergeTeamFiles(b.bytes, ours, other.bytes, 'x')).toThrow(/different team stashes/)
  })
})
