/**
 * The team stash test vectors (test/vectors/team, made by make-vectors.mjs), opened through the
 * library as a clone would: each good_ file opens with each member's identity and gives the
 * values listed in vectors.json; each fail_ file gives the error code listed there, on a fresh
 * clone, or (`after`) on a clone that opened another vector at the same path first.
 */
import { copyFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { decodePath } from '../../../src/team/format.js'
import { parseIdentities } from '../../../src/team/keys.js'
import { exposedValues } from '../../../src/team/membership.js'
import { parseTeamFile } from '../../../src/team/parse.js'
import { TeamStash } from '../../../src/team/team-stash.js'
import { formatKeyPath } from '../../../src/tree/key-path.js'
import { ROOT, tempDir } from '../../helpers.js'

type Expected = string | { after: string; code: string } | Record<string, string | string[] | Record<string, string>>
const dir = join(ROOT, 'test/vectors/team')
const vectors = JSON.parse(readFileSync(join(dir, 'vectors.json'), 'utf8')) as Record<string, Expected>
const work = tempDir()
let count = 0
const identity = (name: string) => parseIdentities(readFileSync(join(dir, `${name}.txt`), 'utf8'), name)

/** What a member reads from a vector at a path of a clone: every value of the scopes they hold. */
async function readAll(path: string, member: string, env: Record<string, string>): Promise<Record<string, string>> {
  const stash = await TeamStash.open(path, identity(member), env)
  const file = parseTeamFile(readFileSync(path), path)
  const out: Record<string, string> = {}
  for (const [enc, record] of file.values)
    if (file.wraps.has(`${record.scope} ${member}`)) out[formatKeyPath(decodePath(enc) as string[])] = Buffer.from(await stash.readValue(decodePath(enc) as string[])).toString()
  return out
}

async function codeOf(name: string, after: string | undefined): Promise<string | undefined> {
  const path = join(work, `v-${count++}.sstash`)
  const env = { XDG_STATE_HOME: join(work, `state-${count++}`) }
  if (after) {
    copyFileSync(join(dir, after), path)
    await readAll(path, 'alice', env)
  }
  copyFileSync(join(dir, name), path)
  return readAll(path, 'alice', env).then(() => undefined, (error: { code?: string }) => error.code)
}

describe('team stash vectors', () => {
  for (const [name, expected] of Object.entries(vectors)) {
    if (typeof expected === 'string' || 'after' in expected) {
      const [code, after] = typeof expected === 'string' ? [expected, undefined] : [expected.code as string, expected.after as string]
      it(`refuses ${name} with ${code}${after ? ` after ${after}` : ''}`, async () => {
        expect(await codeOf(name, after)).toBe(code)
      })
      continue
    }
    it(`reads ${name} as each member`, async () => {
      const path = join(work, `v-${count++}.sstash`)
      copyFileSync(join(dir, name), path)
      for (const [member, values] of Object.entries(expected)) {
        if (member === 'exposed') {
          expect(exposedValues(parseTeamFile(readFileSync(path), name)).map((v) => formatKeyPath(v.path))).toEqual(values)
          continue
        }
        const env = { XDG_STATE_HOME: join(work, `state-${count++}`) }
        if (typeof values === 'string') await expect(readAll(path, member, env)).rejects.toThrow(expect.objectContaining({ code: values }))
        else expect(await readAll(path, member, env)).toEqual(values)
      }
    })
  }
})
