/**
 * The merge driver's three-way merge, on team stashes made with our own generated keys: value
 * changes on each side, conflicts on values, membership changed on one side (its signed section
 * taken) or on both (merged and signed again only by an admin), a removal on one side against
 * a value set on the other (left to be set again, never re-encrypted), and the textconv view.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { addMember, createTeam, listMembers, removeMember, resolveConflict, staleValues } from '../../../src/team/membership.js'
import { mergeTeamFiles } from '../../../src/team/merge.js'
import { parseTeamFile } from '../../../src/team/parse.js'
import { TeamStash } from '../../../src/team/team-stash.js'
import { textconv } from '../../../src/team/textconv.js'
import { clone, code, ids, newKey, newPath, utf8 } from './fixture.js'

/** A base file (alice admin; bob in dev), and a function that makes a side: a copy of the base changed by `fn`. */
async function base() {
  const path = newPath()
  const [alice, bob] = [newKey(), newKey()]
  const env = clone()
  await createTeam(path, 'alice', alice.recipient, [{ name: 'dev', prefix: ['dev'] }], env)
  const stash = await TeamStash.open(path, ids(alice), env)
  await addMember(stash, 'bob', bob.recipient, ['dev'])
  await stash.update((tree) => {
    for (const key of ['a', 'b', 'c']) tree.write(['dev', key], utf8('base'))
  })
  const bytes = new Uint8Array(readFileSync(path))
  const side = async (fn: (s: TeamStash) => Promise<unknown>, who = alice): Promise<Uint8Array> => {
    const copy = newPath()
    writeFileSync(copy, bytes)
    await fn(await TeamStash.open(copy, ids(who), clone()))
    return new Uint8Array(readFileSync(copy))
  }
  /** Every value alice reads from merged bytes. */
  const read = async (merged: Uint8Array, who = alice): Promise<Record<string, string>> => {
    const copy = newPath()
    writeFileSync(copy, merged)
    const out: Record<string, string> = {}
    await (await TeamStash.open(copy, ids(who), clone())).view((tree) => {
      for (const entry of tree.entries([])) out[entry.key.join('/')] = Buffer.from(entry.value).toString()
    })
    return out
  }
  return { bytes, side, read, alice, bob }
}

describe('team merge driver', () => {
  it('takes each side\'s changes of different values, additions and removals included', async () => {
    const b = await base()
    const ours = await b.side((s) => s.update((t) => { t.write(['dev', 'a'], utf8('A')); t.write(['dev', 'aa'], utf8('new')) }))
    const theirs = await b.side((s) => s.update((t) => { t.write(['dev', 'b'], utf8('B')); t.write(['dev', 'ab'], utf8('new too')); t.remove(['dev', 'c']) }), b.bob)
    const merged = mergeTeamFiles(b.bytes, ours, theirs, 'x')
    expect(merged.conflicts).toEqual([])
    expect(await b.read(merged.bytes)).toEqual({ 'dev/a': 'A', 'dev/aa': 'new', 'dev/ab': 'new too', 'dev/b': 'B' })
  })

  it('records a value changed on both sides as a conflict that resolve settles either way', async () => {
    const b = await base()
    const ours = await b.side((s) => s.writeValue(['dev', 'a'], utf8('ours')))
    const theirs = await b.side((s) => s.writeValue(['dev', 'a'], utf8('theirs')))
    const merged = mergeTeamFiles(b.bytes, ours, theirs, 'x')
    expect(merged.conflicts).toEqual([['dev', 'a']])
    const path = newPath()
    writeFileSync(path, merged.bytes)
    const stash = await TeamStash.open(path, ids(b.alice), clone())
    expect(await code(stash.readValue(['dev', 'a']))).toBe('TEAM_CONFLICT')
    await resolveConflict(stash, ['dev', 'a'], 'theirs')
    expect(Buffer.from(await stash.readValue(['dev', 'a'])).toString()).toBe('theirs')
  })

  it('takes the membership of the one side that changed it, and the values of both', async () => {
    const b = await base()
    const carol = newKey()
    const ours = await b.side((s) => addMember(s, 'carol', carol.recipient, ['dev']))
    const theirs = await b.side((s) => s.writeValue(['dev', 'z'], utf8('z')), b.bob)
    const merged = mergeTeamFiles(b.bytes, ours, theirs, 'x')
    expect(merged.membership).toBe(false)
    expect(listMembers(parseTeamFile(merged.bytes, 'x')).map((m) => m.name)).toEqual(['alice', 'bob', 'carol'])
    expect((await b.read(merged.bytes, carol))['dev/z']).toBe('z')
  })

  it('merges membership changed on both sides only with an admin\'s identity, signing the union at a new epoch', async () => {
    const b = await base()
    const [carol, dave] = [newKey(), newKey()]
    const ours = await b.side((s) => addMember(s, 'carol', carol.recipient, ['dev']))
    const theirs = await b.side((s) => addMember(s, 'dave', dave.recipient, ['dev']))
    expect(() => mergeTeamFiles(b.bytes, ours, theirs, 'x')).toThrow(expect.objectContaining({ code: 'TEAM_CONFLICT', message: expect.stringMatching(/needs an admin/) }))
    expect(() => mergeTeamFiles(b.bytes, ours, theirs, 'x', ids(b.bob))).toThrow(expect.objectContaining({ code: 'TEAM_CONFLICT', message: expect.stringMatching(/only an admin/) }))
    const merged = mergeTeamFiles(b.bytes, ours, theirs, 'x', ids(b.alice))
    expect(merged.membership).toBe(true)
    const file = parseTeamFile(merged.bytes, 'x')
    expect(file.epoch).toBe(Math.max(parseTeamFile(ours, 'o').epoch, parseTeamFile(theirs, 't').epoch) + 1)
    for (const who of [carol, dave, b.bob]) expect((await b.read(merged.bytes, who))['dev/a']).toBe('base')
  })

  it('refuses membership changes that collide: one name with two keys, or two removals', async () => {
    const b = await base()
    const ours = await b.side((s) => addMember(s, 'carol', newKey().recipient, ['dev']))
    const theirs = await b.side((s) => addMember(s, 'carol', newKey().recipient, ['dev']))
    expect(() => mergeTeamFiles(b.bytes, ours, theirs, 'x', ids(b.alice))).toThrow(expect.objectContaining({ code: 'TEAM_CONFLICT' }))
    const rm1 = await b.side((s) => removeMember(s, 'bob'))
    const rm2 = await b.side((s) => removeMember(s, 'bob'))
    expect(() => mergeTeamFiles(b.bytes, rm1, rm2, 'x', ids(b.alice))).toThrow(expect.objectContaining({ code: 'TEAM_CONFLICT' }))
  })

  it('leaves a value set on a branch without the removal to be set again, and never encrypts it under the new key', async () => {
    const b = await base()
    const ours = await b.side((s) => removeMember(s, 'bob'))
    const theirs = await b.side((s) => s.writeValue(['dev', 'from-bob'], utf8('bob wrote this')), b.bob)
    const merged = mergeTeamFiles(b.bytes, ours, theirs, 'x', ids(b.alice))
    const file = parseTeamFile(merged.bytes, 'x')
    expect(staleValues(file).map((v) => v.path)).toEqual([['dev', 'from-bob']])
    expect(file.values.get('/dev/from-bob')?.gen).toBe(1)
    expect([...textconv(merged.bytes, 'x')].join('')).toMatch(/value dev\/from-bob scope dev version 1 \[[0-9a-f]{8}\] set-again/)
    const path = newPath()
    writeFileSync(path, merged.bytes)
    expect(await code((await TeamStash.open(path, ids(b.alice), clone())).readValue(['dev', 'from-bob']))).toBe('TEAM_STALE')
  })

  it('refuses two sides of different teams', async () => {
    const [x, y] = [await base(), await base()]
    expect(() => mergeTeamFiles(x.bytes, x.bytes, y.bytes, 'x')).toThrow(expect.objectContaining({ code: 'TEAM_CONFLICT' }))
  })

  it('shows a file with git conflict markers without any ciphertext', async () => {
    const b = await base()
    const text = Buffer.from(b.bytes).toString().replace('member bob', '<<<<<<< HEAD\nmember bob')
    const shown = [...textconv(new Uint8Array(Buffer.from(text)), 'x')].join('')
    for (const line of Buffer.from(b.bytes).toString().split('\n')) for (const field of line.split(' ')) if (field.length >= 24) expect(shown).not.toContain(field)
  })
})
