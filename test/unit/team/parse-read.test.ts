/**
 * parseForRead, the parser of a read of a few key paths (docs/TEAM.md, Reading a few values),
 * against the full parser: on a valid file it gives the same records at or below the keys read
 * and the same membership; on a changed file it either refuses it or gives only records that
 * the full parser gives for the changed file, or that the file had before the change.
 */
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { SSError } from '../../../src/errors.js'
import { encodePath, type TeamFile } from '../../../src/team/format.js'
import { parseTeamFile } from '../../../src/team/parse.js'
import { parseForRead } from '../../../src/team/parse-read.js'
import { setup, utf8 } from './fixture.js'

const KEYS = [['dev'], ['dev', 'api', 'token'], ['dev', 'a b'], ['dev', 'a b', 'é'], ['prod', 'db'], ['dev', 'many', 'K7'], ['dev', 'many', 'K3'], ['dev', 'nothing']]

/** The records of `file` at or below the spellings `read`, and its membership, as plain data. */
function view(file: TeamFile, read: readonly string[]) {
  const under = (enc: string): boolean => read.some((r) => enc === r || enc.startsWith(`${r}/`))
  const pick = <T>(map: ReadonlyMap<string, T>) => [...map].filter(([enc]) => under(enc)).sort(([a], [b]) => (a < b ? -1 : 1))
  return {
    values: pick(file.values),
    conflicts: pick(file.conflicts),
    tombstones: pick(file.tombstones),
    membership: [file.teamId, file.epoch, file.signature, [...file.members], [...file.admins], [...file.scopes], [...file.wraps], [...file.signKeys], [...file.signWraps], [...file.removals]],
  }
}

const attempt = <T>(fn: () => T): T | SSError => {
  try {
    return fn()
  } catch (error) {
    if (error instanceof SSError) return error
    throw error
  }
}

async function team(): Promise<Uint8Array> {
  const t = await setup()
  await t.asAlice.update((tree) => {
    tree.write(['dev', 'a b', 'é'], utf8('spaced'))
    tree.write(['dev', 'a b', 'x\ty'], utf8('a control'))
    for (let i = 0; i < 60; i++) tree.write(['dev', 'many', `K${i}`], utf8(`value ${i}`))
  })
  // A tombstone: a value removed.
  await t.asAlice.update((tree) => tree.remove(['dev', 'many', 'K3']))
  return readFileSync(t.path)
}

describe('the parser of a read of a few key paths', () => {
  it('gives the records at or below the keys read and the membership the full parser gives, for a valid file', async () => {
    const bytes = await team()
    const full = parseTeamFile(bytes, 'x')
    fc.assert(fc.property(fc.subarray(KEYS, { minLength: 1 }), (keys) => {
      const read = keys.map(encodePath)
      const lazy = parseForRead(bytes, 'x', read)
      // A key path with no value at or below it (none, or a value removed) gets the whole file's parse.
      if (keys.some((key) => key[1] === 'nothing' || key[2] === 'K3')) expect(lazy).toBeUndefined()
      else expect(view(lazy as TeamFile, read)).toEqual(view(full, read))
    }))
  })

  it('refuses a changed line, or gives only records the full parser or the file before the change gives, never a new or changed one', async () => {
    const bytes = await team()
    const lines = Buffer.from(bytes).toString().split('\n')
    const before = parseTeamFile(bytes, 'x')
    const change = fc.record({
      line: fc.nat({ max: lines.length - 1 }),
      at: fc.nat(),
      how: fc.constantFrom('delete', 'insert', 'replace', 'duplicate', 'drop'),
      char: fc.constantFrom(' ', '\n', '/', '%', 'a', '0', 'f', '@', '-', '=', '\t', 'é'),
    })
    fc.assert(fc.property(change, fc.subarray(KEYS.slice(0, -1), { minLength: 1 }), ({ line, at, how, char }, keys) => {
      const changed = [...lines]
      const old = changed[line] as string
      const i = old.length === 0 ? 0 : at % old.length
      if (how === 'delete') changed[line] = old.slice(0, i) + old.slice(i + 1)
      if (how === 'insert') changed[line] = old.slice(0, i) + char + old.slice(i)
      if (how === 'replace') changed[line] = old.slice(0, i) + char + old.slice(i + 1)
      if (how === 'duplicate') changed.splice(line, 0, old)
      if (how === 'drop') changed.splice(line, 1)
      const text = changed.join('\n')
      const read = keys.map(encodePath)
      const lazy = attempt(() => parseForRead(utf8(text), 'x', read))
      const full = attempt(() => parseTeamFile(utf8(text), 'x'))
      if (!(full instanceof SSError)) expect(lazy instanceof SSError ? lazy.code : view(lazy ?? full, read)).toEqual(view(full, read))
      else if (lazy !== undefined && !(lazy instanceof SSError)) {
        // A record may be missing (as if removed, which anyone with push access can do), never new or changed.
        const [got, had] = [view(lazy, read), view(before, read)]
        expect(got.membership).toEqual(had.membership)
        for (const kind of ['values', 'conflicts', 'tombstones'] as const) for (const record of got[kind]) expect(had[kind]).toContainEqual(record)
      }
    }), { numRuns: 400 })
  })
})
