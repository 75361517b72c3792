/**
 * The team stash test vectors (test/vectors/team, made by make-vectors.mjs): each good_ file
 * opens with each member's identity and gives the values listed in vectors.json; each fail_
 * file gives the error code listed there.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { decodePath, parseTeamFile } from '../../../src/team/format.js'
import { openKeyring } from '../../../src/team/keyring.js'
import { parseIdentities } from '../../../src/team/keys.js'
import { exposedValues } from '../../../src/team/membership.js'
import { openValue } from '../../../src/team/scope-keys.js'
import { SeenStore } from '../../../src/team/seen.js'
import { formatKeyPath } from '../../../src/tree/key-path.js'
import { ROOT, tempDir } from '../../helpers.js'

const dir = join(ROOT, 'test/vectors/team')
const vectors = JSON.parse(readFileSync(join(dir, 'vectors.json'), 'utf8')) as Record<string, string | Record<string, string | string[] | Record<string, string>>>
const state = tempDir()
const identity = (name: string) => parseIdentities(readFileSync(join(dir, `${name}.txt`), 'utf8'), name)

/** What a member reads from a vector: every value of the scopes they hold. */
function readAll(bytes: Uint8Array, member: string): Record<string, string> {
  const file = parseTeamFile(bytes, 'vector')
  const ring = openKeyring(file, identity(member), SeenStore.load({ XDG_STATE_HOME: join(state, member) }), 'vector')
  const out: Record<string, string> = {}
  for (const [enc, record] of file.values)
    if (ring.holds(record.scope)) out[formatKeyPath(decodePath(enc) as string[])] = Buffer.from(openValue(ring.keyAt(record.scope, record.gen), file.teamId, record)).toString()
  return out
}

describe('team stash vectors', () => {
  for (const [name, expected] of Object.entries(vectors)) {
    const bytes = new Uint8Array(readFileSync(join(dir, name)))
    if (typeof expected === 'string') {
      it(`refuses ${name} with ${expected}`, () => {
        let code: string | undefined
        try {
          readAll(bytes, 'alice')
        } catch (error) {
          code = (error as { code?: string }).code
        }
        expect(code).toBe(expected)
      })
      continue
    }
    it(`reads ${name} as each member`, () => {
      for (const [member, values] of Object.entries(expected)) {
        if (member === 'exposed') {
          expect(exposedValues(parseTeamFile(bytes, name)).map((v) => formatKeyPath(v.path))).toEqual(values)
          continue
        }
        if (typeof values === 'string') expect(() => readAll(bytes, member)).toThrow(expect.objectContaining({ code: values }))
        else expect(readAll(bytes, member)).toEqual(values)
      }
    })
  }
})
