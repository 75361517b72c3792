import { join } from 'node:path'
import dotenv from 'dotenv'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  SSReferenceError,
  classifyValue,
  envFilesFromConfig,
  formatReference,
  formatReferenceFile,
  mergeReferenceFiles,
  parseReferenceFile,
  parseReferenceFiles,
  referenceKeys,
  referencesForImport,
  type EntryToWrite,
  type FileEntry,
} from '../../../src/env/references.js'
import { mergeVars, resolveReferences, secretValues } from '../../../src/env/reference-resolve.js'
import { isDangerousName } from '../../../src/env/naming.js'
import { dotenvQuote } from '../../../src/env/dotenv.js'
import { SSError, SSKeyError } from '../../../src/errors.js'
import { treeOf, thrown } from '../../helpers.js'

/** The one entry of a one-line file. */
const only = (line: string): FileEntry => parseReferenceFile(`${line}\n`, '.env.sstash').entries[0] as FileEntry

describe('the reference file syntax', () => {
  it.each([
    ['PORT=3000', '3000'],
    ['EMPTY=', ''],
    ['URL=https://example.com/sstash://x', 'https://example.com/sstash://x'],
    ['WORD=sstash', 'sstash'],
    ['PATHLIKE=sstash/x', 'sstash/x'],
    ['INSIDE=x sstash://y', 'x sstash://y'],
    ['ESCAPED=\\sstash://not/a/reference', 'sstash://not/a/reference'],
    ['TWICE=\\\\sstash://x', '\\sstash://x'],
    ['UPPER=\\SSTASH://x', 'SSTASH://x'],
    ['SPACED="\\ sstash://x"', ' sstash://x'],
    ['BACKSLASH=\\other', '\\other'],
    ['LATE= \\sstash://x', 'sstash://x'],
  ])('reads %s as the plain value %j', (line, value) => {
    expect(only(line)).toEqual({ kind: 'plain', name: line.split('=')[0], value, file: '.env.sstash' })
  })

  it.each([
    ['DATABASE_URL=sstash://project/db/URL', ['project', 'db', 'URL']],
    ['API_TOKEN="sstash://project/api/TOKEN"', ['project', 'api', 'TOKEN']],
    ["SINGLE='sstash://a/b'", ['a', 'b']],
    ['BACKTICK=`sstash://a/b`', ['a', 'b']],
    ['export EXPORTED=sstash://a', ['a']],
    ['SPACES = sstash://a/b  ', ['a', 'b']],
    ['COMMENT=sstash://a/b # the database', ['a', 'b']],
    ['SLASH=sstash://with\\/slash/back\\\\slash', ['with/slash', 'back\\slash']],
    ['EMPTYSEG=sstash://a/\\e/b', ['a', '', 'b']],
    ['HEX=sstash://tab\\x09name', ['tab\tname']],
    ['HASH=sstash://a\\x23b', ['a#b']],
    ['INNER="sstash://my key/x"', ['my key', 'x']],
    ['TRAILING=sstash://a/b/', ['a', 'b']],
    ['UNICODE=sstash://café/😀', ['café', '😀']],
  ])('reads %s as a reference to %j', (line, key) => {
    expect(only(line)).toEqual({ kind: 'reference', name: line.replace(/^export /, '').split(/ ?=/)[0], key, file: '.env.sstash' })
  })

  it.each([
    ['A=sstash://', 'has no key path after sstash://'],
    ['A=sstash:///', 'has no key path after sstash://'],
    ['A=sstash:project/x', 'does not start with sstash:// (two slashes)'],
    ['A=sstash:/project/x', 'does not start with sstash:// (two slashes)'],
    ['A=SSTASH://project/x', 'its scheme is not lowercase sstash://'],
    ['A=Sstash://project/x', 'its scheme is not lowercase sstash://'],
    ['A=" sstash://project/x"', 'has whitespace around it'],
    ['A="sstash://project/x "', 'has whitespace around it'],
    ['A="\tsstash://project/x"', 'has whitespace around it'],
    ['A=sstash://a//b', 'has a key path that does not parse: it has an empty segment'],
    ['A=sstash://a\\q', 'has a key path that does not parse: unknown escape \\q'],
    ['A=sstash://a\\', 'has a key path that does not parse: it ends with a lone backslash'],
    ['A=sstash://a\\x4', 'has a key path that does not parse: \\x needs two hex digits'],
    ['A="sstash://a\\nb"', 'has a line break or control character in its key path'],
  ])('refuses the look-alike %s: the value %s', (line, reason) => {
    const error = thrown(() => parseReferenceFile(line, '.env.sstash'))
    expect(error).toBeInstanceOf(SSReferenceError)
    expect(error.code).toBe('BAD_REFERENCE')
    expect(error.message).toContain(`.env.sstash: A: the value `)
    expect(error.message).toContain(reason)
    expect(error.hint).toContain('\\sstash:')
  })

  it.each([
    ['1X=1', 'BAD_ENV_NAME'],
    ['A.B=1', 'BAD_ENV_NAME'],
    ['KEY-WITH-DASH=1', 'BAD_ENV_NAME'],
    ['NODE_OPTIONS=--require ./evil.js', 'DANGEROUS_ENV_NAME'],
    ['ld_preload=sstash://x', 'DANGEROUS_ENV_NAME'],
    ['LD_AUDIT=x', 'DANGEROUS_ENV_NAME'],
    ['SSTASH_PASSWORD=x', 'DANGEROUS_ENV_NAME'],
    ['BAD="a\0b"', 'BAD_ENV_VALUE'],
  ])('refuses %s with %s, as the stash would', (line, code) => {
    const error = thrown(() => parseReferenceFile(line, 'f')) as SSReferenceError
    expect(error.problems.map((p) => p.code)).toEqual([code])
    expect(error.problems[0]?.where).toBe(`f: ${line.split('=')[0]}`)
    // The hint about writing references is for reference problems only.
    expect(error.hint).toBeUndefined()
  })

  it('refuses every name that naming.ts calls dangerous, plain or reference', () => {
    for (const name of ['NODE_OPTIONS', 'PATH', 'BASH_ENV', 'GIT_SSH_COMMAND', 'DYLD_INSERT_LIBRARIES', 'LD_LIBRARY_PATH']) {
      expect(isDangerousName(name)).toBe(true)
      expect(thrown(() => parseReferenceFile(`${name}=x`, 'f')).message).toContain(`f: ${name}: can make programs run other code`)
      expect(thrown(() => parseReferenceFile(`${name}=sstash://a`, 'f')).code).toBe('BAD_REFERENCE')
    }
  })

  it('lets a dangerous name through when it is allowed by name, in any case', () => {
    const file = parseReferenceFile('NODE_OPTIONS=--max-old-space-size=4096\n', 'f', { allow: ['node_options'] })
    expect(file.entries).toEqual([{ kind: 'plain', name: 'NODE_OPTIONS', value: '--max-old-space-size=4096', file: 'f' }])
  })

  it('reports every problem of every file in one error, one line each, naming the file and the variable', () => {
    const error = thrown(() =>
      parseReferenceFiles([
        { file: 'a.env', text: 'OK=1\nNODE_OPTIONS=x\nURL=SSTASH://x\n1X=2\n' },
        { file: 'b.env', text: 'TOKEN=sstash://a//b\n' },
        { file: 'c.env', text: 'FINE=sstash://x\n' },
      ]),
    ) as SSReferenceError
    expect(error.code).toBe('BAD_REFERENCE')
    expect(error.message.split('\n')).toEqual([
      'a.env: NODE_OPTIONS: can make programs run other code; pass --allow NODE_OPTIONS to set it anyway',
      'a.env: URL: the value looks like a reference but its scheme is not lowercase sstash://',
      'a.env: 1X: is not a valid environment variable name (letters, digits and _, not starting with a digit)',
      'b.env: TOKEN: the value has a key path that does not parse: it has an empty segment (write \\e for an empty name)',
    ])
  })

  it('refuses a file that is not UTF-8, naming it', () => {
    const error = thrown(() => parseReferenceFile(new Uint8Array([0x41, 0x3d, 0xff, 0x0a]), 'bad.env'))
    expect(error.message).toBe('bad.env: is not valid UTF-8')
  })

  it('keeps the last of two lines with the same name, as dotenv does', () => {
    expect(parseReferenceFile('A=1\nB=sstash://x\nA=sstash://y\n', 'f').entries).toEqual([
      { kind: 'reference', name: 'A', key: ['y'], file: 'f' },
      { kind: 'reference', name: 'B', key: ['x'], file: 'f' },
    ])
  })

  it('lets a later file win on the same name, in first-seen order', () => {
    const files = parseReferenceFiles([
      { file: 'a', text: 'A=1\nB=2\n' },
      { file: 'b', text: 'B=sstash://x\nC=3\n' },
    ])
    expect(mergeReferenceFiles(files).map((e) => [e.name, e.file, e.kind])).toEqual([
      ['A', 'a', 'plain'],
      ['B', 'b', 'reference'],
      ['C', 'b', 'plain'],
    ])
  })

  it('classifies the inside of a placeholder by the same rule', () => {
    expect(classifyValue('sstash://a/b')).toEqual({ kind: 'reference', key: ['a', 'b'] })
    expect(classifyValue('\\sstash://a')).toEqual({ kind: 'plain', value: 'sstash://a' })
    expect(classifyValue('SSTASH://a').kind).toBe('bad')
  })
})

describe('resolving references', () => {
  const tree = treeOf({ 'project/db/URL': 'postgres://u:pw@h/db', 'project/api/TOKEN': 'tok-123', 'project/bin': new Uint8Array([0xff]), 'project/nul': 'a\0b' })

  it('gives each variable its value and says which came from a reference', () => {
    const file = parseReferenceFile('PORT=3000\nDATABASE_URL=sstash://project/db/URL\nAPI_TOKEN="sstash://project/api/TOKEN"\n', '.env.sstash')
    const vars = resolveReferences(file.entries, tree)
    expect([...vars.values()]).toEqual([
      { name: 'PORT', value: '3000', key: [], reference: false, file: '.env.sstash' },
      { name: 'DATABASE_URL', value: 'postgres://u:pw@h/db', key: ['project', 'db', 'URL'], reference: true, file: '.env.sstash' },
      { name: 'API_TOKEN', value: 'tok-123', key: ['project', 'api', 'TOKEN'], reference: true, file: '.env.sstash' },
    ])
    expect(secretValues(vars.values())).toEqual(['postgres://u:pw@h/db', 'tok-123'])
  })

  it('reports every unresolved reference at once, with variable and key path, never a value', () => {
    const file = parseReferenceFile(
      'OK=sstash://project/db/URL\nA=sstash://project/db/URLX\nB=sstash://nothing/here\nC=sstash://project\nD=sstash://project/bin\nE=sstash://project/nul\n',
      '.env.sstash',
    )
    const error = thrown(() => resolveReferences(file.entries, tree)) as SSReferenceError
    expect(error.code).toBe('UNRESOLVED_REFERENCE')
    expect(error.message.split('\n')).toEqual([
      '.env.sstash: A: sstash://project/db/URLX was not found in the stash',
      '.env.sstash: B: sstash://nothing/here was not found in the stash',
      '.env.sstash: C: sstash://project holds no value (only keys below it)',
      '.env.sstash: D: sstash://project/bin is not valid UTF-8, so it cannot be an environment variable',
      '.env.sstash: E: sstash://project/nul contains a NUL byte, so it cannot be an environment variable',
    ])
    expect(error.problems.map((p) => p.key)).toEqual([['project', 'db', 'URLX'], ['nothing', 'here'], ['project'], ['project', 'bin'], ['project', 'nul']])
    expect(error.message).not.toContain('postgres')
    expect(error.hint).toContain('sstash ls')
  })

  it('reads through a reader function, and lets its other errors through untouched', () => {
    const entries = parseReferenceFile('A=sstash://x/y\n', 'f').entries
    const seen: string[][] = []
    const vars = resolveReferences(entries, (key) => {
      seen.push([...key])
      return new TextEncoder().encode('v')
    })
    expect(vars.get('A')?.value).toBe('v')
    expect(seen).toEqual([['x', 'y']])
    const agentDown = new Error('socket closed')
    expect(() => resolveReferences(entries, () => { throw agentDown })).toThrow(agentDown)
    expect(thrown(() => resolveReferences(entries, (key) => { throw new SSKeyError('gone', key) })).code).toBe('UNRESOLVED_REFERENCE')
  })

  it('asks for each referenced key path once, and for nothing when all values are plain', () => {
    const entries = mergeReferenceFiles(parseReferenceFiles([{ file: 'a', text: 'A=sstash://x/y\nB=sstash://x/y\nC=1\n' }, { file: 'b', text: 'D=sstash://z\n' }]))
    expect(referenceKeys(entries)).toEqual([['x', 'y'], ['z']])
    expect(referenceKeys(parseReferenceFile('A=1\n', 'f').entries)).toEqual([])
    expect([...resolveReferences(parseReferenceFile('A=1\n', 'f').entries, () => { throw new Error('not called') }).keys()]).toEqual(['A'])
  })

  it('merges reference files and -k selections so that a later layer wins, and masks only what came from the stash', () => {
    const fileVars = resolveReferences(parseReferenceFile('PORT=1\nTOKEN=sstash://project/api/TOKEN\nHOST=file\n', 'f').entries, tree)
    const fromK = [{ name: 'HOST', value: 'from-k', key: ['project', 'HOST'] }]
    const merged = mergeVars(fileVars, fromK)
    expect([...merged.keys()]).toEqual(['PORT', 'TOKEN', 'HOST'])
    expect(merged.get('HOST')?.value).toBe('from-k')
    expect(secretValues(merged.values())).toEqual(['tok-123', 'from-k'])
  })
})

describe('writing reference files', () => {
  it.each<[string, EntryToWrite[], string]>([
    ['a reference', [{ name: 'A', key: ['project', 'db', 'URL'] }], 'A=sstash://project/db/URL\n'],
    ['a plain value', [{ name: 'PORT', value: '3000' }], 'PORT=3000\n'],
    ['a plain value that looks like a reference', [{ name: 'DOCS', value: 'sstash://x' }], 'DOCS=\\sstash://x\n'],
    ['an escaped-looking plain value', [{ name: 'DOCS', value: '\\sstash://x' }], 'DOCS=\\\\sstash://x\n'],
    ['a key with a hash', [{ name: 'A', key: ['a#b'] }], 'A=sstash://a\\x23b\n'],
    ['a key ending in a space', [{ name: 'A', key: ['a '] }], 'A=sstash://a\\x20\n'],
    ['a key with a slash and a newline', [{ name: 'A', key: ['a/b\nc'] }], 'A=sstash://a\\/b\\x0ac\n'],
  ])('writes %s so that it reads back the same', (_what, entries, text) => {
    expect(formatReferenceFile(entries)).toBe(text)
    const back = parseReferenceFile(text, 'f').entries
    expect(back.map((e) => (e.kind === 'reference' ? { name: e.name, key: e.key } : { name: e.name, value: e.value }))).toEqual(entries)
  })

  it('writes the reference file of an import: each name points below --into', () => {
    expect(referencesForImport(['project', 'myapp'], ['DATABASE_URL', 'API_TOKEN'])).toBe(
      'DATABASE_URL=sstash://project/myapp/DATABASE_URL\nAPI_TOKEN=sstash://project/myapp/API_TOKEN\n',
    )
    expect(thrown(() => referencesForImport(['p'], ['OK', 'NODE_OPTIONS', 'A.B'])).message.split('\n')).toEqual([
      'the reference file: NODE_OPTIONS: can make programs run other code; pass --allow NODE_OPTIONS to set it anyway',
      'the reference file: A.B: is not a valid environment variable name (letters, digits and _, not starting with a digit)',
    ])
  })
})

describe('the "envFile" of package.json', () => {
  const pkg = join('/home/me/app', 'package.json')

  it('takes a path or a list of paths, relative to the package.json', () => {
    expect(envFilesFromConfig('.env.sstash', pkg)).toEqual(['/home/me/app/.env.sstash'])
    expect(envFilesFromConfig(['.env.sstash', '../shared/.env.sstash', '/etc/app.env'], pkg)).toEqual([
      '/home/me/app/.env.sstash',
      '/home/me/shared/.env.sstash',
      '/etc/app.env',
    ])
    expect(envFilesFromConfig(undefined, pkg)).toEqual([])
    expect(envFilesFromConfig([], pkg)).toEqual([])
  })

  it.each([[3], [true], [null], [{}], [''], [['ok', 1]], [['ok', '']], ['a\0b']])('refuses %j, naming the package.json', (value) => {
    const error = thrown(() => envFilesFromConfig(value, pkg))
    expect(error.code).toBe('BAD_PROJECT_CONFIG')
    expect(error.message).toBe(`the "sstash" field of ${pkg} has "envFile" that is not a path or a list of paths`)
  })
})

// Properties over the whole domain.

const NAME_CHARS = [...'ABCXYZ_abc019']
const portableName = fc
  .array(fc.constantFrom(...NAME_CHARS), { minLength: 1, maxLength: 8 })
  .map((c) => c.join(''))
  .filter((n) => /^[A-Za-z_]/.test(n) && !isDangerousName(n) && n !== '__proto__')
const TRICKY = [...`ab Z09=#$'"\`\\\n\r\t:/-.{}`, 'sstash:', 'sstash://', 'SSTASH://', '\\sstash://', '\u00a0', '\u2028', '\u3000', 'é', '😀', '\\n', '\\e', '\\x']
const tricky = fc.array(fc.constantFrom(...TRICKY), { maxLength: 12 }).map((parts) => parts.join(''))
const value = fc.oneof(tricky, fc.string({ unit: 'grapheme', maxLength: 16 })).filter((s) => !s.includes('\0'))
const segment = fc.oneof(fc.string({ unit: fc.constantFrom('a', '/', '\\', ' ', '#', '\n', '\u3000', 'é', '"', "'") , maxLength: 6 }), fc.string({ maxLength: 6 }))
const keyPath = fc.array(segment, { minLength: 1, maxLength: 4 })

describe('properties', () => {
  it('reads any dotenv file as dotenv does, refusing exactly the bad names and the look-alikes (property)', () => {
    const line = fc.tuple(portableName, fc.constantFrom('=', ' = ', 'export '), fc.oneof(value, keyPath.map(formatReference)), fc.constantFrom('', '"', "'", '`')).map(([n, eq, v, q]) => (eq === 'export ' ? `export ${n}=${q}${v}${q}` : `${n}${eq}${q}${v}${q}`))
    fc.assert(
      fc.property(fc.array(line, { maxLength: 6 }), (lines) => {
        const text = lines.join('\n')
        const expected = Object.entries(dotenv.parse(text))
        const problems = expected.flatMap(([name, v]): [string, string][] => {
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return [[name, 'BAD_ENV_NAME']]
          if (isDangerousName(name)) return [[name, 'DANGEROUS_ENV_NAME']]
          return classifyValue(v).kind === 'bad' ? [[name, 'BAD_REFERENCE']] : []
        })
        let entries: FileEntry[]
        try {
          entries = parseReferenceFile(text, 'f').entries
        } catch (error) {
          expect(error).toBeInstanceOf(SSReferenceError)
          expect((error as SSReferenceError).problems.map((p) => [p.where.slice(3), p.code])).toEqual(problems)
          return
        }
        expect(problems).toEqual([])
        expect(entries.map((e) => e.name)).toEqual(expected.map(([name]) => name))
        for (const [i, [name, v]] of expected.entries()) {
          const kind = classifyValue(v)
          expect(entries[i]).toEqual(kind.kind === 'plain' ? { kind: 'plain', name, value: kind.value, file: 'f' } : { kind: 'reference', name, key: (kind as { key: string[] }).key, file: 'f' })
          // Only a value that starts with the escape is changed.
          if (kind.kind === 'plain' && !/^\\+\s*sstash:/i.test(v)) expect(kind.value).toBe(v)
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('writes any plain values and key paths so that they read back exactly, refusing only what it documents (property)', () => {
    const entry = fc.oneof(fc.record({ name: portableName, value }), fc.record({ name: portableName, key: keyPath }))
    // Documented: a value dotenv cannot spell, or a reference ending in whitespace above U+00FF.
    const unwritable = (e: EntryToWrite): boolean => {
      if ('key' in e) return dotenvQuote(formatReference(e.key)) === undefined || /\s$/u.test(formatReference(e.key))
      return dotenvQuote(/^\\*\s*sstash:/i.test(e.value) ? `\\${e.value}` : e.value) === undefined
    }
    fc.assert(
      fc.property(fc.uniqueArray(entry, { selector: (e) => e.name, maxLength: 6 }), (entries) => {
        if (entries.some(unwritable)) {
          expect(() => formatReferenceFile(entries)).toThrow(SSReferenceError)
          return
        }
        const back = parseReferenceFile(formatReferenceFile(entries), 'f').entries
        expect(back.map((e) => (e.kind === 'reference' ? { name: e.name, key: e.key } : { name: e.name, value: e.value }))).toEqual(entries)
      }),
      { numRuns: 3000 },
    )
  })

  it('never puts a value in an error message: not a plain value, not a look-alike, not a stash value (property)', () => {
    const secret = fc.stringMatching(/^[A-Za-z0-9+=]{12,20}$/).map((s) => `S3CRET${s}`)
    const lookAlike = fc.tuple(fc.constantFrom('SSTASH://', ' sstash://', 'sstash:', 'sstash:/', 'sstash://a//', 'sstash://a\\q', 'sstash://\n'), secret).map(([p, s]) => `${p}${s}`)
    const line = fc.oneof(
      fc.tuple(portableName, secret).map(([n, s]) => ({ text: `${n}="${s}"`, secret: s })),
      fc.tuple(portableName, lookAlike).map(([n, s]) => ({ text: `${n}="${s}"`, secret: s.replace(/^.*(S3CRET)/s, '$1') })),
      fc.tuple(fc.constantFrom('NODE_OPTIONS', '1X', 'LD_PRELOAD'), secret).map(([n, s]) => ({ text: `${n}=${s}`, secret: s })),
      fc.tuple(portableName, fc.constantFrom('a/b', 'missing/key', 'bin')).map(([n, k]) => ({ text: `${n}=sstash://${k}`, secret: undefined })),
    )
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 6 }), secret, (lines, stored) => {
        const tree = treeOf({ 'a/b': stored, bin: new Uint8Array([0xfe, 0xff]) })
        let message = ''
        try {
          resolveReferences(parseReferenceFile(lines.map((l) => l.text).join('\n'), 'f').entries, tree)
        } catch (error) {
          expect(error).toBeInstanceOf(SSReferenceError)
          message = `${(error as SSError).message}\n${(error as SSError).hint ?? ''}`
        }
        expect(message).not.toContain(stored)
        for (const l of lines) if (l.secret !== undefined) expect(message).not.toContain(l.secret)
        expect(message).not.toContain('S3CRET')
      }),
      { numRuns: 1500 },
    )
  })
})
