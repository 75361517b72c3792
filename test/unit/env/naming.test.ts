import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  childEnv,
  envFromEntries,
  envFromSelections,
  envValue,
  isDangerousName,
  relativeName,
  segmentToName,
} from '../../../src/env/naming.js'
import { SSError, SSKeyError } from '../../../src/errors.js'
import { Tree } from '../../../src/tree/tree.js'
import { treeOf, thrown } from '../../helpers.js'

const b = (s: string): Uint8Array => new TextEncoder().encode(s)

function entriesOf(values: Record<string, string | Uint8Array>, base: string[]): ReturnType<Tree['entries']> {
  return treeOf(values).entries(base)
}

describe('the naming rule', () => {
  it.each([
    ['host', 'host'],
    ['DB_HOST', 'DB_HOST'],
    ['api-key', 'api_key'],
    ['s3.bucket', 's3_bucket'],
    ['with space', 'with_space'],
    ['café', 'caf_'],
    ['😀x', '_x'],
    ['ß', '_'],
    ['', ''],
    ['a/b', 'a_b'],
  ])('maps the segment %j of a deeper key path to %j', (segment, name) => {
    expect(segmentToName(segment)).toBe(name)
  })

  it.each([
    ['http_proxy', 'http_proxy'],
    ['nextAuthSecret', 'nextAuthSecret'],
    ['KEY-WITH-DASH', 'KEY-WITH-DASH'],
    ['s3.bucket', 's3.bucket'],
    ['DB_HOST', 'DB_HOST'],
    ['with space', 'with_space'],
    ['café', 'caf_'],
  ])('keeps a value right below the key path named %j as %j', (segment, name) => {
    expect(relativeName(['project', 'myapp'], ['project', 'myapp', segment])).toBe(name)
  })

  it('joins the segments below the selected key path with _, each in the case it has', () => {
    expect(relativeName(['project', 'myapp'], ['project', 'myapp', 'db', 'host'])).toBe('db_host')
    expect(relativeName(['project', 'myapp'], ['project', 'myapp', 'DB', 'HOST'])).toBe('DB_HOST')
    expect(relativeName(['project', 'myapp'], ['project', 'myapp', 's3.bucket', 'name'])).toBe('s3_bucket_name')
  })

  it('gives a value the same case whatever the depth of the selected key path', () => {
    expect(relativeName(['prod'], ['prod', 'db', 'PASSWORD'])).toBe('db_PASSWORD')
    expect(relativeName(['prod', 'db'], ['prod', 'db', 'PASSWORD'])).toBe('PASSWORD')
    expect(relativeName(['prod'], ['prod', 'DB', 'PASSWORD'])).toBe('DB_PASSWORD')
    expect(relativeName(['prod'], ['prod', 'db', 'password'])).toBe('db_password')
    expect(relativeName(['prod', 'db'], ['prod', 'db', 'password'])).toBe('password')
  })

  it('names a value stored at the selected key path itself by its last segment', () => {
    expect(relativeName(['project', 'myapp', 'token'], ['project', 'myapp', 'token'])).toBe('token')
    expect(relativeName(['project', 'my app'], ['project', 'my app'])).toBe('my_app')
  })

  it('only ever produces the characters of a name dotenv loads (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme' }), { minLength: 1, maxLength: 4 }), (segments) => {
        expect(relativeName([], segments)).toMatch(/^[A-Za-z0-9_.-]*$/)
      }),
    )
  })
})

describe('variables from one subtree', () => {
  it('turns every value below the subtree into a variable, with the prefix', () => {
    const entries = entriesOf({ 'p/app/db/host': 'localhost', 'p/app/api-key': 'k', 'p/other/x': 'no' }, ['p', 'app'])
    const vars = envFromEntries(['p', 'app'], entries, { prefix: 'APP_' })
    expect(vars.map((v) => [v.name, v.value])).toEqual([
      ['APP_db_host', 'localhost'],
      ['APP_api-key', 'k'],
    ])
    expect(vars[0]?.key).toEqual(['p', 'app', 'db', 'host'])
  })

  it('refuses two key paths that give one name, naming both paths', () => {
    const entries = entriesOf({ 'p/DB/HOST': '1', 'p/DB_HOST': '2' }, ['p'])
    const error = thrown(() => envFromEntries(['p'], entries))
    expect(error).toBeInstanceOf(SSKeyError)
    expect(error.code).toBe('ENV_NAME_COLLISION')
    expect(error.message).toContain('p/DB/HOST')
    expect(error.message).toContain('p/DB_HOST')
    expect(error.message).toContain('DB_HOST')
  })

  it('refuses a name that starts with a digit, naming the key path and not the value', () => {
    const entries = entriesOf({ 'p/1password': 'hunter2' }, ['p'])
    const error = thrown(() => envFromEntries(['p'], entries))
    expect(error.code).toBe('BAD_ENV_NAME')
    expect(error.message).toContain('p/1password')
    expect(error.message).not.toContain('hunter2')
    expect(error.message).toBe('key p/1password gives the variable name 1password, which starts with a digit')
    expect(error.hint).toContain('--prefix')
    expect(envFromEntries(['p'], entries, { prefix: 'X_' })[0]?.name).toBe('X_1password')
  })

  it('reports every problem of a selection at once: the first in the message, the others in details', () => {
    const entries = entriesOf({ 'p/9lives': 'a', 'p/LD_PRELOAD': 'b', 'p/DB/HOST': 'c', 'p/DB_HOST': 'd', 'p/fine': 'e', 'p/.hidden': 'f' }, ['p'])
    const error = thrown(() => envFromEntries(['p'], entries))
    const all = [error.message, ...(error.details ?? [])]
    expect(all).toHaveLength(4)
    expect(all.join('\n')).toContain('p/9lives')
    expect(all.join('\n')).toContain('LD_PRELOAD')
    expect(all.join('\n')).toContain('both give the variable DB_HOST')
    expect(all.join('\n')).toContain('p/.hidden gives the variable name .hidden, which starts with "."')
    expect(error.hint).toContain('--prefix')
  })

  it('refuses an empty name', () => {
    const tree = new Tree()
    tree.write(['p', ''], b('v'))
    const error = thrown(() => envFromEntries(['p'], tree.entries(['p'])))
    expect(error.code).toBe('BAD_ENV_NAME')
    expect(error.message).toContain('p/\\e')
  })

  it('refuses a prefix with characters a name cannot hold, such as =', () => {
    const entries = entriesOf({ 'p/x': 'v' }, ['p'])
    for (const prefix of ['A=', 'A-', 'é', ' ']) expect(thrown(() => envFromEntries(['p'], entries, { prefix })).code).toBe('BAD_ENV_PREFIX')
  })

  it('refuses values with NUL or invalid UTF-8, naming the key path and not the value', () => {
    const nul = thrown(() => envValue(['p', 'x'], b('secret\0value')))
    expect(nul.code).toBe('BAD_ENV_VALUE')
    expect(nul.message).toContain('p/x')
    expect(nul.message).not.toContain('secret')
    const bad = thrown(() => envValue(['p', 'y'], new Uint8Array([0x73, 0xff, 0xfe])))
    expect(bad.code).toBe('BAD_ENV_VALUE')
    expect(bad.message).toContain('p/y')
  })

  it('keeps a leading byte order mark, which is part of the value', () => {
    expect(envValue(['k'], b('\ufeffv'))).toBe('\ufeffv')
  })

  it('refuses names that inject code unless they are allowed by name', () => {
    for (const key of ['ld_preload', 'LD_LIBRARY_PATH', 'dyld_insert_libraries', 'NODE_OPTIONS', 'BASH_ENV', 'PYTHONSTARTUP', 'SSTASH_PASSWORD']) {
      const entries = entriesOf({ [`p/${key}`]: 'evil.so' }, ['p'])
      const error = thrown(() => envFromEntries(['p'], entries))
      expect(error.code).toBe('DANGEROUS_ENV_NAME')
      expect(error.message).toContain('--allow')
      expect(error.message).not.toContain('evil.so')
    }
    const entries = entriesOf({ 'p/ld_preload': 'ok.so' }, ['p'])
    expect(envFromEntries(['p'], entries, { allow: ['LD_PRELOAD'] })[0]?.name).toBe('ld_preload')
  })

  it('treats dangerous names case-insensitively and leaves ordinary ones alone', () => {
    expect(isDangerousName('node_options')).toBe(true)
    expect(isDangerousName('LD_ANYTHING')).toBe(true)
    expect(isDangerousName('DATABASE_URL')).toBe(false)
    expect(isDangerousName('OLD_PATH')).toBe(false)
  })
})

describe('several selections and the environment', () => {
  it('lets a later selection win on the same name', () => {
    const tree = new Tree()
    tree.write(['a', 'x'], b('from a'))
    tree.write(['a', 'y'], b('only a'))
    tree.write(['b', 'x'], b('from b'))
    const vars = envFromSelections([
      { base: ['a'], entries: tree.entries(['a']) },
      { base: ['b'], entries: tree.entries(['b']) },
    ])
    expect(vars.get('x')?.value).toBe('from b')
    expect(vars.get('y')?.value).toBe('only a')
    expect([...vars.keys()]).toEqual(['x', 'y'])
  })

  it('lets the existing environment win unless override is asked for', () => {
    const vars = envFromSelections([{ base: ['p'], entries: entriesOf({ 'p/GREETING': 'stash', 'p/NEW': 'n' }, ['p']) }])
    const kept = childEnv({ GREETING: 'hi' }, vars)
    expect(kept.env.GREETING).toBe('hi')
    expect(kept.env.NEW).toBe('n')
    expect(kept.injected.map((v) => v.name)).toEqual(['NEW'])
    const over = childEnv({ GREETING: 'hi' }, vars, { override: true })
    expect(over.env.GREETING).toBe('stash')
  })

  it('removes the password variables from the child environment', () => {
    const { env } = childEnv({ SSTASH_PASSWORD: 'pw', SSTASH_PASSWORD_FILE: '/f', KEEP: '1' }, new Map(), {
      remove: ['SSTASH_PASSWORD', 'SSTASH_PASSWORD_FILE', 'SSTASH_ASKPASS'],
    })
    expect({ ...env }).toEqual({ KEEP: '1' })
  })
})
