import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { PathVersions } from '../../../src/team/path-versions.js'
import { tempDir } from '../../helpers.js'

const dir = tempDir()
let count = 0
const stateFile = (): string => join(dir, `state-${count++}`, 'sstash', 'team-seen')
const TEAM = 'AAAAAAAAAAAAAAAAAAAAAA'

/** The clone's memory of key path versions (src/team/path-versions.ts), on real files. */
describe('path versions', () => {
  it('finds every remembered key path by binary search, and none it never saw, at 1, 2 and 3,001 key paths', async () => {
    for (const n of [1, 2, 3001]) {
      const state = stateFile()
      const fill = new PathVersions(state, TEAM)
      for (let i = 0; i < n; i++) fill.learn(`/dev/k${i}`, 1 + (i % 9))
      await fill.save()
      const read = new PathVersions(state, TEAM)
      for (let i = 0; i < n; i++) expect(read.seen(`/dev/k${i}`)).toBe(1 + (i % 9))
      expect(read.seen('/dev/never')).toBe(0)
      expect(new PathVersions(state, 'BBBBBBBBBBBBBBBBBBBBBB').seen('/dev/k0')).toBe(0)
    }
  })

  it('keeps the higher version of each key path when two commands save at once, and never lowers one', async () => {
    const state = stateFile()
    const [a, b] = [new PathVersions(state, TEAM), new PathVersions(state, TEAM)]
    a.learn('/dev/x', 3)
    a.learn('/dev/y', 1)
    b.learn('/dev/x', 2)
    b.learn('/dev/z', 5)
    await Promise.all([a.save(), b.save()])
    const read = new PathVersions(state, TEAM)
    expect([read.seen('/dev/x'), read.seen('/dev/y'), read.seen('/dev/z')]).toEqual([3, 1, 5])
    read.learn('/dev/x', 1)
    await read.save()
    expect(new PathVersions(state, TEAM).seen('/dev/x')).toBe(3)
  })

  it('forgets a team\'s versions on reset, and reads a file not in the fixed width line by line', async () => {
    const state = stateFile()
    const v = new PathVersions(state, TEAM)
    v.learn('/dev/x', 4)
    await v.save()
    const damaged = `${readFileSync(v.path, 'latin1')}junk\n`
    writeFileSync(v.path, damaged)
    expect(new PathVersions(state, TEAM).seen('/dev/x')).toBe(4)
    const reset = new PathVersions(state, TEAM)
    reset.reset()
    expect(reset.seen('/dev/x')).toBe(0)
    await reset.save()
    expect(readFileSync(v.path, 'latin1')).toBe('')
  })
})
