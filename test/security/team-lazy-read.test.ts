/**
 * A team read (`sstash get`, `sstash-run`, the credential helper) parses only the records of
 * the keys it reads, and the membership (docs/TEAM.md, Reading a few values). These tests
 * tamper with the file as an attacker with push access would, through the built CLI, and hold
 * that the lazy read refuses what the full parse refuses: every file-wide rule, broken by a
 * record it does not read; every rule, broken by a record it reads. The rules left to the
 * writers (a record's slot digest, payload and scope, for a record no read opens) are refused
 * by every write, `ls`, `team verify` and the merge driver, and never change what a read gives.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { runBin, type RunResult } from '../helpers.js'
import { setup, utf8 } from '../unit/team/fixture.js'

type Team = Awaited<ReturnType<typeof setup>>
const READ = '/dev/api/token'
/** One error line (and a hint at most): no stack trace, no value. */
const ONE_ERROR = /^sstash: error: [^\n]+\n(sstash: hint: [^\n]+\n)?$/

/** A team with 300 more values besides dev/api/token and prod/db/password, so that buckets hold several records. */
async function bigTeam(): Promise<Team & { text: string }> {
  const t = await setup()
  await t.asAlice.update((tree) => {
    for (let i = 0; i < 300; i++) tree.write(['dev', 'many', `K${i}`], utf8(`value ${i}`))
  })
  return { ...t, text: readFileSync(t.path, 'utf8') }
}

interface Rec { at: number; head: string; payload: string; spelling: string; bucket: number }

/** The value records of a file's text: the line index of each head, and its parts. */
function recordsOf(text: string): Rec[] {
  const lines = text.split('\n')
  const out: Rec[] = []
  let bucket = -1
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string
    if (line.startsWith('@ ')) bucket = parseInt(line.slice(2), 16)
    else if (bucket >= 0 && /^(value|conflict) /.test(line)) {
      out.push({ at: i, head: line, payload: lines[i + 1] as string, spelling: line.split(' ')[2] as string, bucket })
      i += 2
    }
  }
  return out
}

/** The text with the lines of `rec` replaced by `lines`. */
function replaceRecord(text: string, rec: Rec, lines: string[]): string {
  const all = text.split('\n')
  all.splice(rec.at, 3, ...lines)
  return all.join('\n')
}

/** A record under dev/many (not read), the first under its anchor, which is not the last: its changes keep the order. */
function other(text: string): Rec {
  const recs = recordsOf(text)
  return recs.find((r, i) => r.spelling.startsWith('/dev/many/') && r.bucket < 255 && recs[i - 1]?.bucket !== r.bucket) as Rec
}

/** The text with `rec` given another slot, `00000` after its anchor's digits, moved to the front of its anchor's records. */
function withWrongSlot(text: string, rec: Rec): string {
  const slot = rec.head.split(' ')[1] as string
  const wrong = `${slot.slice(0, 2)}${slot.slice(2) === '000000' ? '000001' : '000000'}`
  const anchorLine = `@ ${slot.slice(0, 2)}\n`
  return text.replace(`${rec.head}\n${rec.payload}\n\n`, '').replace(anchorLine, `${anchorLine}${rec.head.replace(slot, wrong)}\n${rec.payload}\n\n`)
}

/** Two records next to each other under one anchor, neither of them the key read. */
function neighbours(text: string): [Rec, Rec] {
  const recs = recordsOf(text)
  for (let i = 0; i + 1 < recs.length; i++) {
    const [a, b] = [recs[i] as Rec, recs[i + 1] as Rec]
    if (a.bucket === b.bucket && a.spelling !== READ && b.spelling !== READ) return [a, b]
  }
  throw new Error('no bucket holds two records')
}

const get = (t: Team, key = 'dev/api/token'): Promise<RunResult> => runBin('sstash', ['--stash', t.path, 'get', key], { env: { ...t.env.alice, SSTASH_IDENTITY: t.alice.secret } })
const sstash = (t: Team, args: string[]): Promise<RunResult> => runBin('sstash', ['--stash', t.path, ...args], { env: { ...t.env.alice, SSTASH_IDENTITY: t.alice.secret }, input: 'x' })

/** The file `text` refused by a read of dev/api/token with exit `exit` and a message matching `why`, the file unchanged. */
async function refusedByRead(t: Team, text: string, why: RegExp, exit = 4): Promise<void> {
  writeFileSync(t.path, text)
  const r = await get(t)
  expect(r.stdout).toBe('')
  expect(r.stderr).toMatch(ONE_ERROR)
  expect(r.stderr).toMatch(why)
  expect(r.code).toBe(exit)
  expect(readFileSync(t.path, 'utf8')).toBe(text)
}

describe('a team read that parses only the records it reads', () => {
  it('reads the one value asked for, a subtree through sstash-run, and names the nearest key for one that is not there', async () => {
    const t = await bigTeam()
    const r = await get(t)
    expect([r.code, r.stdout]).toEqual([0, 'dev-token'])
    const run = await runBin('run', ['--stash', t.path, '-k', 'dev/many', '--', 'sh', '-c', 'printf %s "$K299"'], { env: { ...t.env.alice, SSTASH_IDENTITY: t.alice.secret } })
    expect([run.code, run.stdout, run.stderr]).toEqual([0, 'value 299', ''])
    const missing = await get(t, 'dev/many/nope')
    expect(missing.code).toBe(3)
    expect(missing.stderr).toContain('`sstash ls dev/many` lists what dev/many holds')
    // A removed value (a tombstone) is not there either, with the same hint.
    expect((await sstash(t, ['rm', 'dev/many/K5'])).code).toBe(0)
    const removed = await get(t, 'dev/many/K5')
    expect([removed.code, removed.stdout]).toEqual([3, ''])
    expect(removed.stderr).toContain('`sstash ls dev/many` lists what dev/many holds')
    const bob = await runBin('sstash', ['--stash', t.path, 'get', 'prod/db/password'], { env: { ...t.env.bob, SSTASH_IDENTITY: t.bob.secret } })
    expect(bob.code).toBe(1)
    expect(bob.stderr).toMatch(/in scope prod, which bob does not hold/)
  })

  it('refuses every file-wide rule broken by a record it does not read', async () => {
    const t = await bigTeam()
    const text = t.text
    const [a, b] = neighbours(text)
    const o = other(text)
    const cases: [string, string, RegExp, number?][] = [
      ['two records out of order', replaceRecord(replaceRecord(text, b, [a.head, a.payload, '']), a, [b.head, b.payload, '']), /records are not sorted, or one is repeated/],
      ['a record repeated', replaceRecord(text, o, [o.head, o.payload, '', o.head, o.payload, '']), /records are not sorted, or one is repeated/],
      ['a record of two lines', replaceRecord(text, o, [o.head, o.payload]), /a value record must be three lines/],
      ['a record without its payload', replaceRecord(text, o, [o.head, '']), /a value record must be three lines/],
      ['a record of an unknown kind', replaceRecord(text, o, [o.head.replace(/^value/, 'valeu'), o.payload, '']), /a value record is malformed/],
      ['a record with a fourth field', replaceRecord(text, o, [`${o.head} x`, o.payload, '']), /a value record is malformed/],
      ['a key path in another spelling', replaceRecord(text, o, [o.head.replace('/dev/', '/d%65v/'), o.payload, '']), /a value record is malformed/],
      ['a key path with a control character', replaceRecord(text, o, [o.head.replace('/dev/', '/d\tv/'), o.payload, '']), /a value record is malformed/],
      ['an empty key path', replaceRecord(text, o, [o.head.replace(/ \/.*$/, ' /'), o.payload, '']), /a value record is malformed/],
      ['a slot that is not 8 hex digits', replaceRecord(text, o, [o.head.replace(/ ([0-9a-f]{8}) /, ' $1a '), o.payload, '']), /a value record is malformed/],
      ['a record under another anchor than its slot', text.replace(`${o.head}\n${o.payload}\n\n`, '').replace(`@ ${((o.bucket + 1) % 256).toString(16).padStart(2, '0')}\n`, (m) => `${m}${o.head}\n${o.payload}\n\n`), /is not under the anchor of its slot/],
      ['an anchor missing', text.replace('@ 7f\n', ''), /expected the anchor line @ 7f|is not under the anchor of its slot/],
      ['a line after the last anchor\'s records', `${text}@ 00\n`, /a line follows the last anchor's records/],
      ['git conflict markers among the values', text.replace(`${o.head}\n`, `<<<<<<< ours\n${o.head}\n`), /holds git conflict markers/, 1],
      ['a file that does not end with a newline', `${text}x`, /the last line does not end with a newline/],
    ]
    for (const [name, tampered, why, exit] of cases) {
      expect(tampered, name).not.toBe(text)
      await refusedByRead(t, tampered, why, exit)
    }
    // The membership is read whole: a signed record changed anywhere is refused.
    await refusedByRead(t, text.replace(/^epoch (\d+)$/m, (_, n: string) => `epoch ${Number(n) + 1}`), /does not verify against the team's signing key/)
  })

  it('refuses bytes that are not UTF-8 in a record it does not read', async () => {
    const t = await bigTeam()
    const o = other(t.text)
    const bytes = Buffer.from(t.text)
    const at = bytes.indexOf(Buffer.from(`${o.head}\n`)) + o.head.length - 1
    bytes[at] = 0xff
    writeFileSync(t.path, bytes)
    const r = await get(t)
    expect([r.code, r.stdout]).toEqual([4, ''])
    expect(r.stderr).toMatch(/it is not UTF-8/)
  })

  it('refuses every rule broken by the record it reads, or by a second record for its key path', async () => {
    const t = await bigTeam()
    const text = t.text
    const [read] = recordsOf(text).filter((r) => r.spelling === READ) as [Rec]
    const fields = read.payload.split(' ')
    const elsewhere = ((read.bucket + 1) % 256).toString(16).padStart(2, '0')
    const cases: [string, string, RegExp][] = [
      ['a slot that is not its key path\'s', withWrongSlot(text, read), /is not the one its key path gives/],
      ['a second record for it, under another anchor', text.replace(`@ ${elsewhere}\n`, `@ ${elsewhere}\nvalue ${elsewhere}000000 ${READ}\n${read.payload}\n\n`), /is not the one its key path gives/],
      ['a payload with a generation 0', replaceRecord(text, read, [read.head, [fields[0], fields[1], '0', ...fields.slice(3)].join(' '), '']), /a value record is malformed/],
      ['a payload with a field more', replaceRecord(text, read, [read.head, `${read.payload} x`, '']), /a value record is malformed/],
      ['another scope than its path\'s', replaceRecord(text, read, [read.head, read.payload.replace(' dev ', ' prod '), '']), /names the wrong scope or generation/],
      ['a sealed value changed', replaceRecord(text, read, [read.head, read.payload.replace(/.{4}$/, (end) => (end === 'AAAA' ? 'BBBB' : 'AAAA')), '']), /does not verify: it was changed, moved or planted/],
    ]
    for (const [name, tampered, why] of cases) {
      expect(tampered, name).not.toBe(text)
      await refusedByRead(t, tampered, why)
    }
  })

  it('reads a key next to a record that breaks only a writer\'s rule, which ls, every write and team verify refuse', async () => {
    const t = await bigTeam()
    const text = t.text
    const o = other(text)
    const fields = o.payload.split(' ')
    const cases: [string, string, RegExp][] = [
      ['a slot that is not its key path\'s', withWrongSlot(text, o), /is not the one its key path gives/],
      ['a payload with a generation 0', replaceRecord(text, o, [o.head, [fields[0], fields[1], '0', ...fields.slice(3)].join(' '), '']), /a value record is malformed/],
      ['another scope than its path\'s', replaceRecord(text, o, [o.head, o.payload.replace(' dev ', ' prod '), '']), /names the wrong scope or generation/],
    ]
    for (const [name, tampered, why] of cases) {
      expect(tampered, name).not.toBe(text)
      writeFileSync(t.path, tampered)
      const r = await get(t)
      expect([name, r.code, r.stdout]).toEqual([name, 0, 'dev-token'])
      for (const args of [['ls'], ['set', 'dev/api/token'], ['team', 'verify']]) {
        const refused = await sstash(t, args)
        expect([name, args, refused.code]).toEqual([name, args, 4])
        expect(refused.stderr).toMatch(why)
      }
      // Neither does a read of a key that is not there: its answer is the whole file's.
      expect((await get(t, 'dev/nothing')).stderr).toMatch(why)
      expect(readFileSync(t.path, 'utf8')).toBe(tampered)
    }
  })
})
