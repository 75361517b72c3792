import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { spawnSync } from 'node:child_process'
import { inspect } from 'node:util'
import { MIN_MASKED_LENGTH, Masker, maskedForms } from '../../../src/env/mask.js'

/** Feeds `text` to a masker cut at `cuts` (byte offsets) and returns the output. */
function maskInChunks(values: string[], text: string, cuts: number[]): string {
  const bytes = Buffer.from(text)
  const masker = new Masker(values)
  const out: Buffer[] = []
  let at = 0
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    out.push(masker.push(bytes.subarray(at, Math.max(at, cut))))
    at = Math.max(at, cut)
  }
  out.push(masker.push(bytes.subarray(at)), masker.end())
  return Buffer.concat(out).toString()
}

describe('masking', () => {
  it('replaces each value with *****', () => {
    expect(maskInChunks(['s3cret'], 'token=s3cret and s3cret.', [])).toBe('token=***** and *****.')
  })

  it('finds a value split across chunks, even inside a multi-byte character', () => {
    const text = 'a pässwörd😀 here'
    for (let cut = 0; cut <= Buffer.byteLength(text); cut++) expect(maskInChunks(['pässwörd😀'], text, [cut])).toBe('a ***** here')
  })

  it('hides the longer of two values that start at one place, and overlapping ones as one', () => {
    expect(maskInChunks(['abcdef', 'abcdefghi'], 'xabcdefghix', [3])).toBe('x*****x')
    expect(maskInChunks(['abcdefgh', 'efghijkl'], '-abcdefghijkl-', [])).toBe('-*****-')
  })

  it('passes output through untouched when no value occurs, whatever the chunks (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.array(fc.nat(60)), (text, cuts) => {
        expect(maskInChunks(['\u0001never\u0002'], text, cuts)).toBe(text)
      }),
    )
  })

  it('never lets a value through, whatever the chunks (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: MIN_MASKED_LENGTH, maxLength: 12 }).filter((s) => !s.includes('*') && [...s].length >= MIN_MASKED_LENGTH), fc.array(fc.string({ maxLength: 6 }), { maxLength: 5 }), fc.array(fc.nat(80)), (secret, parts, cuts) => {
        const text = parts.join(secret)
        const masked = maskInChunks([secret], text, cuts)
        // (A value holding `*` could be rebuilt from the mask itself, hence the filter.)
        expect(masked.includes(secret)).toBe(false)
      }),
    )
  })

  it('skips values shorter than six characters, which ordinary output is full of', () => {
    expect(MIN_MASKED_LENGTH).toBe(6)
    expect(maskInChunks(['', '1', 'yes', 'abcde', 'abcdef'], 'port 1, yes, abcde, abcdef', [])).toBe('port 1, yes, abcde, *****')
    expect(maskInChunks(['日本語日本語'], 'x 日本語日本語 x', [])).toBe('x ***** x')
  })

  const PEM = '-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\nq9f"quote\\back\tslash\'tick\n-----END PRIVATE KEY-----'

  it.each([
    ['JSON.stringify', (v: string) => JSON.stringify({ key: v })],
    ['util.inspect', (v: string) => inspect({ key: v })],
    ['Python repr', (v: string) => `{'key': '${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/'/g, "\\'")}'}`],
    ['CRLF line ends', (v: string) => v.replace(/\n/g, '\r\n')],
    ['one line at a time', (v: string) => v.split('\n').map((line) => `log: ${line}`).join('\n')],
  ])('hides each line of a multi-line value printed with %s', (_how, print) => {
    const masked = maskInChunks([PEM], print(PEM), [17, 40, 41])
    for (const line of PEM.split('\n')) expect(masked).not.toContain(line)
    expect(masked).not.toContain('MIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA')
    expect(masked).not.toContain('quote')
  })

  it('hides a value as Python json.dumps, percent-encoding and inspect write it', () => {
    const value = 'pässwörd "x" 1/2'
    for (const spelled of [JSON.stringify(value).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`), encodeURIComponent(value), inspect(value)])
      expect(maskInChunks([value], `<${spelled}>`, [5]), spelled).not.toMatch(/ss|rd/)
  })

  it('keeps a bounded look-back and stays linear: 200 values and 2 MB of output in well under a second', () => {
    const values = Array.from({ length: 200 }, (_, i) => `secret-${i}-${'x'.repeat(i % 30)}-end`)
    values.push('ab')
    const line = `lorem ipsum ab dolor sit amet ${values[7]} consectetur ${values[150]} adipiscing\n`
    const output = Buffer.from(line.repeat(Math.ceil(2_000_000 / line.length)))
    const masker = new Masker(values)
    const started = performance.now()
    let out = 0
    for (let at = 0; at < output.length; at += 65536) out += masker.push(output.subarray(at, at + 65536)).length
    out += masker.end().length
    const ms = performance.now() - started
    expect(ms).toBeLessThan(1500)
    expect(out).toBeLessThan(output.length)
    expect(maskedForms(values).every((f) => f.length >= MIN_MASKED_LENGTH)).toBe(true)
  })
})

describe('the spellings of the common runtimes’ standard libraries', () => {
  const VALUES = ['p@ss/wörd <&> it\'s ~ok!', 'tok+en/with=signs?&', 'S3cr3t-Value_123', 'naïve "quote" \\ back\ttab', 'a b*c(d)e!f~g']
  const hidden = (value: string, spelled: string): void => {
    const out = maskInChunks([value], `before ${spelled} after`, [7 + Math.floor(spelled.length / 2)])
    expect(out, `${JSON.stringify(value)} spelled ${JSON.stringify(spelled)}`).toBe('before ***** after')
  }
  const python = spawnSync('python3', ['-c', PYTHON], { input: JSON.stringify(VALUES), encoding: 'utf8' })

  it.skipIf(python.status !== 0)('hides what Python’s urllib.parse, json, base64, binascii, html and repr write', () => {
    const spellings = JSON.parse(python.stdout) as Record<string, string>[]
    expect(Object.keys(spellings[0] ?? {})).toHaveLength(14)
    spellings.forEach((forms, i) => {
      for (const spelled of Object.values(forms)) hidden(VALUES[i] as string, spelled)
    })
  })

  it('hides what Node’s encodeURIComponent, encodeURI, URLSearchParams, JSON, Buffer and util.inspect write', () => {
    for (const value of VALUES) {
      const bytes = Buffer.from(value)
      const forms = [
        encodeURIComponent(value), encodeURI(value), new URLSearchParams({ v: value }).toString().slice(2), JSON.stringify(value).slice(1, -1),
        bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex'), bytes.toString('hex').toUpperCase(), inspect(value).slice(1, -1),
      ]
      for (const spelled of forms) hidden(value, spelled)
    }
  })

  it('hides JSON as PHP’s json_encode writes it (\\/ and \\uXXXX) and as Go’s encoding/json does (\\u003c, \\u003e, \\u0026)', () => {
    // What php -r 'echo json_encode($v);' and Go's json.Marshal print (neither runtime is on the test machines).
    for (const value of VALUES) {
      const php = JSON.stringify(value).slice(1, -1).replace(/\//g, '\\/').replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
      const go = JSON.stringify(value).slice(1, -1).replace(/[<>&]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
      hidden(value, php)
      hidden(value, go)
    }
    expect(maskInChunks(['a/b<c>d&e'], '{"v":"a\\/b<c>d&e","w":"a/b\\u003cc\\u003ed\\u0026e"}', [])).toBe('{"v":"*****","w":"*****"}')
  })

  it('hides a password inside a Basic authorization header, at any of the three base64 alignments', () => {
    for (const user of ['u', 'us', 'usr', 'user']) {
      const value = 'correct-horse-battery'
      const header = `Authorization: Basic ${Buffer.from(`${user}:${value}`).toString('base64')}`
      const out = maskInChunks([value], header, [])
      expect(out, user).toContain('*****')
      // What is left of the encoding no longer decodes to the password.
      expect(Buffer.from(out.replace(/^Authorization: Basic /, '').replace('*****', ''), 'base64').toString('latin1')).not.toContain('horse')
    }
  })
})

// Python's spellings of each value of stdin's JSON list, by the standard library itself.
const PYTHON = `
import base64, binascii, html, json, sys, urllib.parse
out = []
for v in json.load(sys.stdin):
    b = v.encode()
    out.append({
        'quote': urllib.parse.quote(v, safe=''), 'quote_default': urllib.parse.quote(v), 'quote_plus': urllib.parse.quote_plus(v),
        'urlencode': urllib.parse.urlencode({'v': v})[2:], 'json': json.dumps(v)[1:-1], 'json_utf8': json.dumps(v, ensure_ascii=False)[1:-1],
        'b64': base64.b64encode(b).decode(), 'b64_nopad': base64.b64encode(b).decode().rstrip('='), 'b64url': base64.urlsafe_b64encode(b).decode(),
        'hex': b.hex(), 'hexlify_upper': binascii.hexlify(b).decode().upper(), 'html': html.escape(v), 'html_noquote': html.escape(v, quote=False),
        'repr': repr(v)[1:-1],
    })
print(json.dumps(out))
`
