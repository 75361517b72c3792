import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { credentialKey, eraseCredentials, findCredentials, storeCredential, usableCredential } from '../../../src/git/mapping.js'
import { findByRules, loadMappingRules, mappingRulesPath, parseMappingRules, ruleMatches } from '../../../src/git/mapping-rules.js'
import { decodeSegment, encodeSegment } from '../../../src/git/segment.js'
import { decodeBytes, emptyCredential, parseCredential, type Credential } from '../../../src/git/protocol.js'
import { SSError } from '../../../src/errors.js'
import { importGitCredentials } from '../../../src/git/credentials-file.js'
import { Tree } from '../../../src/tree/tree.js'
import { tempDir } from '../../helpers.js'

const req = (fields: Partial<Credential>): Credential => ({ ...emptyCredential(), ...fields })
const text = (tree: Tree, key: string[]): string => decodeBytes(tree.read(key))

describe('the key-path layout', () => {
  it('puts a credential under git/<protocol>/<host>/<path>/<username>', () => {
    expect(credentialKey(req({ protocol: 'https', host: 'github.com:443', username: 'alice' }))).toEqual(['git', 'https', 'github.com:443', '-', 'alice'])
    expect(credentialKey(req({ protocol: 'https', host: 'h', path: 'org/repo.git', username: '' }), { prefix: ['work', 'git'] })).toEqual([
      'work',
      'git',
      'https',
      'h',
      'org%2Frepo.git',
      '',
    ])
  })

  it.each([
    [undefined, '-'],
    ['-', '%2D'],
    ['', ''],
    ['50%', '50%25'],
    ['a/b', 'a%2Fb'],
    ['tab\there', 'tab%09here'],
    ['caf\u00e9 \u2028', 'caf\u00e9 \u2028'],
    ['\udcff', '%FF'],
    ['--', '--'],
  ])('escapes %j as %j and reads it back', (value, segment) => {
    expect(encodeSegment(value)).toBe(segment)
    expect(decodeSegment(segment)).toBe(value)
  })

  it.each(['%zz', '%2f', '%41', '%', 'a%2'])('skips the hand-made segment %j', (segment) => {
    expect(decodeSegment(segment)).toBeNull()
  })

  it('never maps two different fields to one segment', () => {
    const field = fc.option(fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => s.isWellFormed()), { nil: undefined })
    fc.assert(
      fc.property(field, field, (a, b) => {
        if (a !== b) expect(encodeSegment(a)).not.toBe(encodeSegment(b))
        expect(decodeSegment(encodeSegment(a))).toBe(a)
      }),
    )
  })

  it('refuses a credential without protocol or host', () => {
    expect(() => credentialKey(req({ host: 'h' }))).toThrow(SSError)
    expect(() => credentialKey(req({ protocol: 'https' }))).toThrow(SSError)
  })
})

describe('store, find and erase', () => {
  const stored = (tree: Tree, lines: string): boolean => storeCredential(tree, parseCredential(lines))
  const find = (tree: Tree, lines: string) => findCredentials(tree, parseCredential(lines)).map((c) => [c.username, c.password])

  it('finds exact matches only', () => {
    const tree = new Tree()
    stored(tree, 'protocol=https\nhost=github.com\nusername=alice\npassword=p1\n')
    expect(find(tree, 'protocol=https\nhost=github.com\n')).toEqual([['alice', 'p1']])
    for (const near of ['host=github.com.evil.com', 'host=evilgithub.com', 'host=github.co', 'host=github.com:444', 'host=GitHub.com'])
      expect(find(tree, `protocol=https\n${near}\n`)).toEqual([])
    expect(find(tree, 'protocol=http\nhost=github.com\n')).toEqual([])
    expect(find(tree, 'protocol=https\nhost=github.com\nusername=bob\n')).toEqual([])
    expect(find(tree, 'protocol=https\nhost=github.com\npath=x.git\n')).toEqual([])
    expect(find(tree, 'host=github.com\n')).toEqual([])
    expect(find(tree, 'protocol=https\n')).toEqual([])
  })

  it('overwrites every field of the same credential, and reports an unchanged store', () => {
    const tree = new Tree()
    expect(stored(tree, 'protocol=https\nhost=h\nusername=u\npassword=p1\npassword_expiry_utc=9999999998\noauth_refresh_token=r\n')).toBe(true)
    expect(stored(tree, 'protocol=https\nhost=h\nusername=u\npassword=p2\npassword_expiry_utc=9999999999\n')).toBe(true)
    expect(stored(tree, 'protocol=https\nhost=h\nusername=u\npassword=p2\npassword_expiry_utc=9999999999\n')).toBe(false)
    expect(tree.children(['git', 'https', 'h', '-', 'u'])).toEqual(['password', 'password_expiry_utc'])
    expect(text(tree, ['git', 'https', 'h', '-', 'u', 'password_expiry_utc'])).toBe('9999999999')
  })

  it('stores nothing that is ephemeral, lacks a host, or lacks a username', () => {
    const tree = new Tree()
    expect(stored(tree, 'protocol=https\nhost=h\nusername=u\npassword=p\nephemeral=1\n')).toBe(false)
    expect(stored(tree, 'capability[]=authtype\nprotocol=https\nhost=h\nauthtype=Bearer\ncredential=t\nephemeral=true\n')).toBe(false)
    expect(stored(tree, 'protocol=https\nusername=u\npassword=p\n')).toBe(false)
    expect(stored(tree, 'protocol=https\nhost=h\npassword=p\n')).toBe(false)
    expect(stored(tree, 'protocol=https\nhost=h\nauthtype=Bearer\ncredential=t\n')).toBe(false)
    expect(tree.root.children.size).toBe(0)
  })

  it('keeps an authtype credential without a username apart from an empty username', () => {
    const tree = new Tree()
    stored(tree, 'capability[]=authtype\nprotocol=https\nhost=h\nauthtype=Bearer\ncredential=tok\n')
    stored(tree, 'protocol=https\nhost=h\nusername=\npassword=empty-user\n')
    expect(tree.children(['git', 'https', 'h', '-'])).toEqual(['-', ''])
    const [first, second] = findCredentials(tree, parseCredential('protocol=https\nhost=h\n'))
    expect(usableCredential(first!, { authtype: false })).toBeUndefined()
    expect(usableCredential(first!, { authtype: true })).toMatchObject({ authtype: 'Bearer', credential: 'tok' })
    expect(usableCredential(second!)).toMatchObject({ username: '', password: 'empty-user' })
  })

  it('drops an expired password', () => {
    const found = findCredentials(
      (() => {
        const tree = new Tree()
        stored(tree, 'protocol=https\nhost=h\nusername=u\npassword=p\npassword_expiry_utc=1000\n')
        return tree
      })(),
      parseCredential('protocol=https\nhost=h\n'),
    )
    expect(usableCredential(found[0]!, { now: 999 })).toMatchObject({ password: 'p' })
    expect(usableCredential(found[0]!, { now: 1001 })).toBeUndefined()
  })

  it('erases every match but keeps a password that differs, and prunes empty nodes', () => {
    const tree = new Tree()
    tree.write(['git', 'keep'], new Uint8Array([1]))
    stored(tree, 'protocol=https\nhost=h\nusername=a\npassword=pa\n')
    stored(tree, 'protocol=https\nhost=h\nusername=b\npassword=pb\n')
    stored(tree, 'protocol=https\nhost=h\npath=r.git\nusername=c\npassword=pc\n')
    expect(eraseCredentials(tree, parseCredential('protocol=https\nhost=h\nusername=a\npassword=wrong\n'))).toBe(0)
    expect(eraseCredentials(tree, parseCredential('protocol=https\nhost=h\nusername=a\npassword=pa\n'))).toBe(1)
    expect(eraseCredentials(tree, parseCredential('host=h\n'))).toBe(0)
    expect(eraseCredentials(tree, parseCredential('protocol=https\nhost=h\n'))).toBe(2)
    expect(tree.children(['git'])).toEqual(['keep'])
  })
})

describe('mapping rules', () => {
  const tree = new Tree()
  tree.write(['project', 'SomeService', 'user'], new TextEncoder().encode('svc-bot'))
  tree.write(['project', 'SomeService', 'token'], new TextEncoder().encode('tok-123'))
  const rules = parseMappingRules(
    JSON.stringify({ rules: [{ url: 'https://*.example.com', key: 'project/SomeService', username: 'user', password: 'token' }] }),
    'git.json',
  )

  it.each([
    ['https', 'git.example.com', true],
    ['https', 'a-b.example.com', true],
    ['https', 'example.com', false],
    ['https', 'a.b.example.com', false],
    ['https', 'git.example.com:8443', false],
    ['https', 'git.example.com.evil.com', false],
    ['https', 'gitexample.com', false],
    ['http', 'git.example.com', false],
  ])('matches %s://%s: %s', (protocol, host, expected) => {
    expect(ruleMatches(rules[0]!, req({ protocol, host }))).toBe(expected)
  })

  it('drops one trailing newline from a value a rule serves', () => {
    const withNewline = new Tree()
    withNewline.write(['project', 'SomeService', 'token'], new TextEncoder().encode('tok-123\n'))
    expect(findByRules(withNewline, req({ protocol: 'https', host: 'git.example.com' }), rules)?.password).toBe('tok-123')
  })

  it('serves the subtree with its named fields', () => {
    expect(findByRules(tree, req({ protocol: 'https', host: 'git.example.com' }), rules)).toMatchObject({
      key: ['project', 'SomeService'],
      username: 'svc-bot',
      password: 'tok-123',
    })
    expect(findByRules(tree, req({ protocol: 'https', host: 'git.example.com', username: 'other' }), rules)).toBeUndefined()
  })

  it.each([
    ['not json', /not valid JSON/],
    ['[]', /"rules" array/],
    ['{"rules":[{"url":"https://h"}]}', /rule 1: "key"/],
    ['{"rules":[{"url":"h","key":"a"}]}', /rule 1: "url"/],
    ['{"rules":[{"url":"https://u:p@h","key":"a"}]}', /no user or password/],
    ['{"rules":[{"url":"https://h","key":"a","extra":1}]}', /unknown field "extra"/],
    ['{"rules":[{"url":"https://h","key":"a\\\\q"}]}', /not a valid key path/],
  ])('refuses the rules file %s', (json, message) => {
    expect(() => parseMappingRules(json, 'git.json')).toThrow(message)
  })

  it('reads the rules from $XDG_CONFIG_HOME/sstash/git.json, and none when it is missing', async () => {
    const dir = tempDir()
    const env = { XDG_CONFIG_HOME: dir }
    expect(mappingRulesPath(env)).toBe(join(dir, 'sstash', 'git.json'))
    expect(loadMappingRules(env)).toEqual([])
    mkdirSync(join(dir, 'sstash'))
    writeFileSync(join(dir, 'sstash', 'git.json'), '{"rules":[{"url":"https://h/r.git","key":"k"}]}')
    expect(loadMappingRules(env)).toMatchObject([{ protocol: 'https', host: 'h', path: 'r.git', key: ['k'], password: ['password'] }])
  })
})

describe('importGitCredentials', () => {
  it('stores each line of a ~/.git-credentials file in the layout', () => {
    const tree = new Tree()
    const report = importGitCredentials(tree, 'https://alice:p%40ss@github.com\r\n\nhttp://bob:x@localhost:8080/r.git\nhttps://%2D:-@h\n', {
      prefix: ['imported'],
    })
    expect(report).toEqual({ imported: 3, skipped: [] })
    expect(text(tree, ['imported', 'https', 'github.com', '-', 'alice', 'password'])).toBe('p@ss')
    expect(text(tree, ['imported', 'http', 'localhost:8080', 'r.git', 'bob', 'password'])).toBe('x')
    expect(text(tree, ['imported', 'https', 'h', '-', '%2D', 'password'])).toBe('-')
  })

  it.each([
    ['no scheme', 'github.com', 'not a credential URL'],
    ['no password', 'https://alice@github.com', 'no password'],
    ['no user', 'https://github.com', 'no user name'],
    ['a hidden newline', 'https://a:b%0a@h', 'not a credential URL'],
  ])('imports the other lines around a line with %s, and names it by number, never by content', (_what, line, why) => {
    const tree = new Tree()
    const report = importGitCredentials(tree, `https://ok:ok@h\n${line}\nhttps://two:2@h\n`)
    expect(report).toEqual({ imported: 2, skipped: [{ line: 2, why }] })
    expect(JSON.stringify(report)).not.toContain(line)
    expect(text(tree, ['git', 'https', 'h', '-', 'ok', 'password'])).toBe('ok')
    expect(text(tree, ['git', 'https', 'h', '-', 'two', 'password'])).toBe('2')
  })

  it('keeps the first of two lines for the same host and user, as git-credential-store answers with the first', () => {
    const tree = new Tree()
    const report = importGitCredentials(tree, 'https://u:first@h\nhttps://u:second@h\n')
    expect(report).toEqual({ imported: 1, skipped: [{ line: 2, why: 'the same host and user as line 1, which git uses' }] })
    expect(text(tree, ['git', 'https', 'h', '-', 'u', 'password'])).toBe('first')
  })
})
