/**
 * The age project's test vectors (C2SP CCTV age testkit, as typage runs them) against
 * age-file.ts, for the X25519 vectors: test/vectors/team/cctv-age/README.md says which.
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ageDecrypt } from '../../../src/team/age-file.js'
import { parseIdentities } from '../../../src/team/keys.js'
import { ROOT } from '../../helpers.js'

const dir = join(ROOT, 'test/vectors/team/cctv-age')

describe('age testkit vectors', () => {
  for (const name of readdirSync(dir).filter((n) => n !== 'README.md').sort()) {
    const bytes = readFileSync(join(dir, name))
    const split = bytes.indexOf('\n\n')
    const head = Object.fromEntries(bytes.subarray(0, split).toString().split('\n').map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)])) as Record<string, string>
    it(`gives ${head.expect} for ${name}`, () => {
      const identity = parseIdentities(head.identity as string, name)[0]!
      let got: string
      try {
        const out = ageDecrypt(new Uint8Array(bytes.subarray(split + 2)), identity)
        got = out === undefined ? 'no match' : createHash('sha256').update(out).digest('hex')
      } catch (error) {
        expect((error as { code?: string }).code).toBe('TEAM_TAMPERED')
        got = 'failure'
      }
      if (head.expect === 'success') expect(got).toBe(head.payload)
      else if (head.expect === 'no match') expect(got).toBe('no match')
      // A failure is refused, or (a stanza made unusable) finds no stanza for the identity: never a payload.
      else expect(['failure', 'no match']).toContain(got)
    })
  }
})
