import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  MAX_LINE_BYTES,
  decodeBytes,
  encodeBytes,
  formatCredential,
  isTrue,
  parseCredential,
  parseCredentialUrl,
  type Credential,
} from '../../../src/git/protocol.js'
import { SSError } from '../../../src/errors.js'

const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'))
const fields = (credential: Credential): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(credential)) if (!(Array.isArray(value) && value.length === 0)) out[key] = value
  return out
}

describe('parseCredential', () => {
  const good: [string, string, Record<string, unknown>][] = [
    ['reads key=value lines', 'protocol=https\nhost=example.com\n', { protocol: 'https', host: 'example.com' }],
    ['stops at a blank line', 'host=a\n\nhost=b\n', { host: 'a' }],
    ['stops at a CRLF blank line', 'host=a\r\n\r\nhost=b\n', { host: 'a' }],
    ['reads a last line without LF', 'protocol=https\nhost=example.com', { protocol: 'https', host: 'example.com' }],
    ['strips one CR before LF', 'host=example.com\r\n', { host: 'example.com' }],
    ['keeps everything after the first =', 'password=a=b==\n', { password: 'a=b==' }],
    ['accepts an empty value', 'username=\npassword=\n', { username: '', password: '' }],
    ['ignores unknown attributes', 'x-unknown=1\nquit=1\nfoo[]=bar\nhost=h\n', { host: 'h' }],
    ['lets the last of a repeated key win', 'host=a\nhost=b\n', { host: 'b' }],
    ['keeps U+2028 and U+2029 as data', 'host=evil\u2028host=victim\u2029\n', { host: 'evil\u2028host=victim\u2029' }],
    ['keeps a lone form feed and vertical tab as data', 'host=a\x0bb\x0cc\n', { host: 'a\x0bb\x0cc' }],
    ['collects multi-valued keys in order', 'wwwauth[]=Basic a\nwwwauth[]=Bearer b\n', { wwwauth: ['Basic a', 'Bearer b'] }],
    ['resets a list with an empty item', 'capability[]=authtype\ncapability[]=\ncapability[]=state\n', { capability: ['state'] }],
    ['ignores a key that merely contains []', 'host[]=x\nhost=y\n', { host: 'y' }],
    ['ignores an empty key', '=value\nhost=h\n', { host: 'h' }],
    ['reads an empty input as an empty credential', '', {}],
    ['reads a lone blank line as an empty credential', '\n', {}],
    ['treats only the key before = as the key', 'host=a\nusername=host=victim\n', { host: 'a', username: 'host=victim' }],
    [
      'expands url= into its parts without re-parsing the host',
      'url=https://us%40er:p%3Ass@Example.COM:8443/a/b.git/\n',
      { protocol: 'https', host: 'Example.COM:8443', username: 'us@er', password: 'p:ss', path: 'a/b.git' },
    ],
    ['lets url= unset what the url lacks', 'path=x\nusername=u\nurl=https://h\n', { protocol: 'https', host: 'h' }],
    ['lets lines after url= override it', 'url=https://h/p\nhost=other\n', { protocol: 'https', host: 'other', path: 'p' }],
    ['gives an empty host for a url without one', 'url=cert:///etc/cert.pem\n', { protocol: 'cert', host: '', path: 'etc/cert.pem' }],
    ['ends the host at ? or #', 'url=https://h?x=1\n', { protocol: 'https', host: 'h', path: '?x=1' }],
    ['keeps an IPv6 host with its port', 'url=http://[::1]:8080/r\n', { protocol: 'http', host: '[::1]:8080', path: 'r' }],
  ]
  it.each(good)('%s', (_title, input, expected) => {
    expect(fields(parseCredential(input))).toEqual(expected)
  })

  const bad: [string, string | Uint8Array, RegExp][] = [
    ['refuses a lone CR in a value', 'host=example.com\rhost=victim\n', /line 1 holds a carriage return/],
    ['refuses a CR at the end of the input', 'host=a\nhost=b\r', /line 2 holds a carriage return/],
    ['refuses two CRs before LF', 'host=a\r\r\n', /line 1 holds a carriage return/],
    ['refuses a NUL in a value', 'host=a\0victim\n', /line 1 holds a NUL byte/],
    ['refuses a NUL in a key', 'ho\0st=a\n', /NUL/],
    ['refuses a line without =', 'protocol=https\nhost\n', /line 2 has no '='/],
    ['refuses a line longer than 65535 bytes', `wwwauth[]=${'a'.repeat(70_000)}host=victim\n`, /line 1 is longer than 65535 bytes/],
    ['refuses a url without a scheme', 'url=example.com/x\n', /no scheme/],
    ['refuses a url hiding a LF', 'url=https://h%0aost/\n', /control character/],
    ['refuses a url hiding a CR', 'url=https://u%0d@h/\n', /control character/],
    ['refuses a url hiding a NUL', 'url=https://h/%00\n', /control character/],
  ]
  it.each(bad)('%s', (_title, input, message) => {
    expect(() => parseCredential(input)).toThrow(message)
    try {
      parseCredential(input)
    } catch (error) {
      expect(error).toBeInstanceOf(SSError)
      expect((error as SSError).code).toBe('BAD_INPUT')
      expect((error as SSError).message).not.toContain('victim')
    }
  })

  it('accepts a line of exactly 65535 bytes', () => {
    const value = 'b'.repeat(MAX_LINE_BYTES - 'wwwauth[]='.length)
    expect(parseCredential(`wwwauth[]=${value}\nhost=h\n`)).toMatchObject({ wwwauth: [value], host: 'h' })
    expect(parseCredential(`wwwauth[]=${value}\r\nhost=h\r\n`)).toMatchObject({ wwwauth: [value], host: 'h' })
  })

  it('never lets the tail of a long wwwauth line become an attribute', () => {
    const input = `protocol=https\nhost=badguy.example.com\nwwwauth[]=basic realm=${'a'.repeat(1001)}host=victim.example.com\n`
    expect(parseCredential(input).host).toBe('badguy.example.com')
  })

  it('keeps invalid UTF-8 bytes losslessly', () => {
    const parsed = parseCredential(bytes('password=\xff\xfe\xc3(\nusername=caf\xc3\xa9\n'))
    expect(parsed.username).toBe('café')
    expect(encodeBytes(parsed.password as string)).toEqual(bytes('\xff\xfe\xc3('))
  })
})

describe('formatCredential', () => {
  it('writes capability[] first and leaves out what is undefined', () => {
    const out = Buffer.from(
      formatCredential({ username: 'u', password: 'p', capability: ['authtype'], authtype: 'Bearer', credential: 't', state: ['sstash:x'] }),
    ).toString()
    expect(out).toBe('capability[]=authtype\nauthtype=Bearer\ncredential=t\nusername=u\npassword=p\nstate[]=sstash:x\n')
  })

  it.each(['a\nhost=victim', 'a\rb', 'a\0b'])('refuses to write a value holding a control character: %j', (value) => {
    expect(() => formatCredential({ password: value })).toThrow(SSError)
    expect(() => formatCredential({ wwwauth: [value] })).toThrow(SSError)
  })

  it('refuses an empty list item, which would reset the list', () => {
    expect(() => formatCredential({ state: [''] })).toThrow(/empty item/)
  })
})

describe('parseCredentialUrl', () => {
  it('keeps a + as a + and decodes only valid escapes', () => {
    expect(parseCredentialUrl('https://a+b:%zz%41@h')).toEqual({ protocol: 'https', host: 'h', username: 'a+b', password: '%zzA' })
  })
  it('treats an @ after the path as part of the path', () => {
    expect(parseCredentialUrl('https://h/p@q')).toEqual({ protocol: 'https', host: 'h', path: 'p@q' })
  })
})

describe('isTrue', () => {
  it.each([
    [undefined, false],
    ['0', false],
    ['false', false],
    ['FALSE', false],
    ['1', true],
    ['true', true],
    ['yes', true],
    ['anything', true],
  ] as const)('reads %j as %j', (value, expected) => {
    expect(isTrue(value)).toBe(expected)
  })
})

describe('properties', () => {
  const value = fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !/[\r\n\0]/.test(s) && s.isWellFormed())
  const attributes = fc.record(
    {
      protocol: value,
      host: value,
      path: value,
      username: value,
      password: value,
      password_expiry_utc: value,
      oauth_refresh_token: value,
      authtype: value,
      credential: value,
    },
    { requiredKeys: [] },
  )

  it('parses back exactly what formatCredential writes', () => {
    const lists = fc.array(value.filter((s) => s !== ''), { maxLength: 3 })
    fc.assert(
      fc.property(attributes, lists, lists, lists, (single, wwwauth, capability, state) => {
        const credential: Credential = { ...single, wwwauth, capability, state }
        expect(parseCredential(formatCredential(credential))).toEqual(credential)
      }),
    )
  })

  it('throws nothing but BAD_INPUT on any bytes, and never splits on anything but LF', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (input) => {
        try {
          const parsed = parseCredential(input)
          for (const v of Object.values(parsed).flat()) expect(/[\r\n\0]/.test(v as string)).toBe(false)
        } catch (error) {
          expect(error).toBeInstanceOf(SSError)
          expect((error as SSError).code).toBe('BAD_INPUT')
        }
      }),
    )
  })

  it('decodes and encodes any bytes losslessly and injectively', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 64 }), (a, b) => {
        expect(encodeBytes(decodeBytes(a))).toEqual(a)
        if (!Buffer.from(a).equals(Buffer.from(b))) expect(decodeBytes(a)).not.toBe(decodeBytes(b))
      }),
    )
  })
})
