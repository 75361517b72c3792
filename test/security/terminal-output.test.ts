/**
 * What a hostile name can make sstash print: a diagnostic or a JSON listing may quote a key path
 * or a word from a file someone else wrote. None reaches the terminal as a control character,
 * a bidi control or a line separator, and a diagnostic is one bounded line.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { makeStash, runBin, tempDir } from '../helpers.js'

// eslint-disable-next-line no-control-regex
const RAW = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069]/
const SNEAKY = ['\x1b]0;pwned\x07', '\x9b2J', 'evil\u202Egnp.exe', '\u2066x\u2069', 'a\u2028b']

describe('terminal output of hostile names', () => {
  it('escapes controls in an error line, and cuts a long one short', async () => {
    for (const word of SNEAKY) {
      const r = await runBin('sstash', ['team', word], { env: { HOME: tempDir() } })
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/^sstash: error: unknown team command /)
      expect(r.stderr).not.toMatch(RAW)
    }
    const long = await runBin('sstash', ['team', 'x'.repeat(100_000)], { env: { HOME: tempDir() } })
    const [first = ''] = long.stderr.split('\n')
    expect(first.length).toBeLessThan(2200)
    expect(first).toMatch(/\.\.\. \(\d+ more characters\)$/)
  })

  it('writes JSON whose strings a parser reads back exactly, with no raw control for the terminal', async () => {
    const dir = tempDir()
    const stash = join(dir, 's.sstash')
    await makeStash(stash, 'pw', Object.fromEntries(SNEAKY.map((word, i) => [`p/${word}`, `v${i}`])))
    const r = await runBin('sstash', ['--stash', stash, 'ls', 'p', '--json'], { env: { HOME: dir, SSTASH_PASSWORD: 'pw' } })
    expect(r.code).toBe(0)
    expect(r.stdout).not.toMatch(RAW)
    expect(JSON.stringify(JSON.parse(r.stdout))).toContain(JSON.stringify(SNEAKY[2]).slice(1, -1))
  })
})
