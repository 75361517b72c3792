/**
 * The merge driver's record-by-record merge, on team stashes made with real age keys: changes
 * on one side, conflicts on values, membership changed on both sides (merged under one scope
 * key, refused otherwise), and the textconv view.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseTeamFile, serializeTeamFile, type ScopeRecord, type WrapRecord } from '../../../src/team/format.js'
import { membersOf, unwrapScope } from '../../../src/team/keyring.js'
import { parseIdentities } from '../../../src/team/keys.js'
import { addMember, createTeam, listMembers, removeMember, resolveConflict } from '../../../src/team/membership.js'
import { mergeTeamFiles } from '../../../src/team/merge.js'
import { scopeMac } from '../../../src/team/scope-keys.js'
import { SeenStore } from '../../../src/team/seen.js'
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

type Key = ReturnType<typeof ageKey>
const ids = (key: Key) => parseIdentities(key.secret, 'key')
const freshState = () => ({ XDG_STATE_HOME: join(dir, `state-${n++}`) })

/** A team: alice holds dev and prod, carol and bob dev, ops prod; each side is made by one of them. */
async function team() {
  const path = join(dir, `team-${n++}.sstash`)
  const keys = { alice: ageKey(), carol: ageKey(), bob: ageKey(), ops: ageKey() }
  const env = freshState()
  await createTeam(path, 'alice', keys.alice.recipient, [{ name: 'dev', prefix: ['dev'] }, { name: 'prod', prefix: ['prod'] }], env)
  const stash = await TeamStash.open(path, ids(keys.alice), env)
  for (const [name, scope] of [['carol', 'dev'], ['bob', 'dev'], ['ops', 'prod']] as const) await addMember(stash, name, keys[name].recipient, [scope])
  await stash.update((tree) => {
    tree.write(['dev', 'a'], utf8('dev value'))
    tree.write(['prod', 'a'], utf8('prod value'))
  })
  const bytes = new Uint8Array(readFileSync(path))
  const side = async (who: Key, fn: (s: TeamStash) => Promise<unknown>): Promise<Uint8Array> => {
    const copy = join(dir, `side-${n++}.sstash`)
    writeFileSync(copy, bytes)
    await fn(await TeamStash.open(copy, ids(who), freshState()))
    return new Uint8Array(readFileSync(copy))
  }
  const merge = (ours: Uint8Array, theirs: Uint8Array, who?: Key) => mergeTeamFiles(bytes, ours, theirs, 'x', who && ids(who), who && SeenStore.load(freshState()))
  /** What `who` reads at `key` in `merged`, opening it as a fresh clone. */
  const read = async (merged: Uint8Array, who: Key, key: string[]): Promise<string> => {
    const path = join(dir, `merged-${n++}.sstash`)
    writeFileSync(path, merged)
    return Buffer.from(await (await TeamStash.open(path, ids(who), freshState())).readValue(key)).toString()
  }
  return { bytes, keys, side, merge, read }
}

describe.skipIf(!hasAge)('team merge driver, membership changed on both sides', () => {
  it('merges members added to one scope on each side, signs the merged members, and every member opens the result', async () => {
    const t = await team()
    const [dave, erin] = [ageKey(), ageKey()]
    const ours = await t.side(t.keys.carol, (s) => addMember(s, 'dave', dave.recipient, ['dev']))
    const theirs = await t.side(t.keys.alice, (s) => addMember(s, 'erin', erin.recipient, ['dev']))
    const merged = t.merge(ours, theirs, t.keys.carol)
    expect([merged.membership, merged.conflicts]).toEqual([['dev'], []])
    const dev = listMembers(parseTeamFile(merged.bytes, 'x')).filter((m) => m.scopes.includes('dev')).map((m) => m.name)
    expect(dev).toEqual(['alice', 'bob', 'carol', 'dave', 'erin'])
    for (const who of [t.keys.alice, t.keys.carol, t.keys.bob, dave, erin]) expect(await t.read(merged.bytes, who, ['dev', 'a'])).toBe('dev value')
    expect(await t.read(merged.bytes, t.keys.ops, ['prod', 'a'])).toBe('prod value')
  })

  it('merges one member added on both sides with the same key, without an identity', async () => {
    const t = await team()
    const dave = ageKey()
    const ours = await t.side(t.keys.carol, (s) => addMember(s, 'dave', dave.recipient, ['dev']))
    const theirs = await t.side(t.keys.alice, (s) => addMember(s, 'dave', dave.recipient, ['dev']))
    const merged = t.merge(ours, theirs)
    expect(merged.membership).toEqual([])
    expect(await t.read(merged.bytes, dave, ['dev', 'a'])).toBe('dev value')
  })

  it('refuses one member name added on both sides with different keys', async () => {
    const t = await team()
    const ours = await t.side(t.keys.carol, (s) => addMember(s, 'dave', ageKey().recipient, ['dev']))
    const theirs = await t.side(t.keys.alice, (s) => addMember(s, 'dave', ageKey().recipient, ['dev']))
    expect(() => t.merge(ours, theirs, t.keys.alice)).toThrow(
      expect.objectContaining({ code: 'TEAM_CONFLICT', message: expect.stringMatching(/^x: membership changed on both sides.*: member dave was added with a different key on each side/), hint: expect.stringMatching(/git checkout --ours/) }),
    )
  })

  it('refuses two removals that each gave the scope a new key', async () => {
    const t = await team()
    const ours = await t.side(t.keys.carol, (s) => removeMember(s, 'bob', freshState()))
    const theirs = await t.side(t.keys.alice, (s) => removeMember(s, 'carol', freshState()))
    expect(() => t.merge(ours, theirs, t.keys.alice)).toThrow(expect.objectContaining({ code: 'TEAM_CONFLICT', message: expect.stringMatching(/scope dev got a different new key on each side \(two `team rm`\)/) }))
  })

  it('refuses a rotation on one side against members added on the other, whose key the removed member holds', async () => {
    const t = await team()
    const ours = await t.side(t.keys.alice, (s) => removeMember(s, 'bob', freshState()))
    const theirs = await t.side(t.keys.bob, (s) => addMember(s, 'mallory', ageKey().recipient, ['dev']))
    for (const [o, th, side] of [[ours, theirs, 'our'], [theirs, ours, 'their']] as const)
      expect(() => t.merge(o, th, t.keys.alice)).toThrow(expect.objectContaining({ code: 'TEAM_CONFLICT', message: expect.stringMatching(new RegExp(`scope dev got a new key on ${side} side \\(a \`team rm\`\\) while its members changed on the other`)) }))
  })

  it('refuses to merge the members of a scope the merging identity does not hold, signing nothing', async () => {
    const t = await team()
    const ours = await t.side(t.keys.carol, (s) => addMember(s, 'dave', ageKey().recipient, ['dev']))
    const theirs = await t.side(t.keys.alice, (s) => addMember(s, 'erin', ageKey().recipient, ['dev']))
    expect(() => t.merge(ours, theirs, t.keys.ops)).toThrow(
      expect.objectContaining({ code: 'TEAM_CONFLICT', message: expect.stringMatching(/needs its key, and your identity does not hold scope dev/), hint: expect.stringMatching(/a member of scope dev runs the merge/) }),
    )
    expect(() => t.merge(ours, theirs)).toThrow(expect.objectContaining({ code: 'TEAM_CONFLICT', message: expect.stringMatching(/needs its key, and no identity was found/) }))
  })

  it('refuses a side whose membership does not verify instead of signing it', async () => {
    const t = await team()
    const mallory = ageKey()
    const ours = await t.side(t.keys.carol, (s) => addMember(s, 'dave', ageKey().recipient, ['dev']))
    const theirs = await t.side(t.keys.alice, (s) => addMember(s, 'erin', ageKey().recipient, ['dev']))
    const text = Buffer.from(theirs).toString()
    const erin = /^member erin (\S+)$/m.exec(text)?.[1] as string
    // Someone with push access swaps erin's key for theirs, and cannot sign it.
    const swapped = utf8(text.replace(`member erin ${erin}`, `member erin ${mallory.recipient}`))
    // Or plants a member of their own, with a copy of a wrap, leaving the scope record as it was.
    const file = parseTeamFile(theirs, 'x')
    file.members.set('mallory', mallory.recipient)
    file.wraps.set('dev mallory', { ...(file.wraps.get('dev erin') as WrapRecord), member: 'mallory' })
    const planted = serializeTeamFile(file)
    for (const forged of [swapped, planted]) {
      for (const [o, th, side] of [[ours, forged, 'their'], [forged, ours, 'our']] as const)
        expect(() => t.merge(o, th, t.keys.carol)).toThrow(expect.objectContaining({ code: 'TEAM_TAMPERED', message: expect.stringMatching(new RegExp(`^x \\(${side} side\\): the membership of scope dev does not verify`)) }))
    }
  })

  it('refuses a member dropped from a scope on one side without a rotation, which no command does', async () => {
    const t = await team()
    const ours = await t.side(t.keys.carol, (s) => addMember(s, 'dave', ageKey().recipient, ['dev']))
    // A holder of the dev key drops bob and signs it, without giving dev a new key (bob keeps it).
    const file = parseTeamFile(await t.side(t.keys.alice, (s) => addMember(s, 'erin', ageKey().recipient, ['dev'])), 'x')
    const dev = file.scopes.get('dev') as ScopeRecord
    const key = unwrapScope(file, dev, 'alice', ids(t.keys.alice)[0]!, 'x') as Uint8Array
    file.wraps.delete('dev bob')
    file.members.delete('bob')
    dev.mac = scopeMac(key, file.teamId, dev, membersOf(file, 'dev'))
    expect(() => t.merge(ours, serializeTeamFile(file), t.keys.carol)).toThrow(expect.objectContaining({ code: 'TEAM_CONFLICT', message: expect.stringMatching(/member bob left scope dev on one side without a new key for it/) }))
  })

  it('refuses a member removed on one side and given another scope on the other', async () => {
    const t = await team()
    const ours = await t.side(t.keys.carol, (s) => removeMember(s, 'bob', freshState()))
    const theirs = await t.side(t.keys.alice, (s) => addMember(s, 'bob', undefined, ['prod']))
    expect(() => t.merge(ours, theirs, t.keys.alice)).toThrow(expect.objectContaining({ code: 'TEAM_CONFLICT', message: expect.stringMatching(/do not fit together: .*unknown member bob/) }))
  })
})
