import dotenv from 'dotenv'
import { expand } from 'dotenv-expand'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { importDotenv, referencesOf } from '../../../src/env/dotenv-import.js'
import { childEnv, envFromSelections, nameProblem } from '../../../src/env/naming.js'
import { Tree } from '../../../src/tree/tree.js'
import { SSError } from '../../../src/errors.js'

/** What `dotenv run` (dotenv-cli) gives a command: the file joins the environment (which wins), then dotenv-expand runs over it. */
function dotenvRun(text: string, base: Record<string, string>, expanding: boolean): Record<string, string> {
  const env = { ...base }
  for (const [name, value] of Object.entries(dotenv.parse(text))) if (!Object.hasOwn(env, name)) env[name] = value
  if (expanding) expand({ parsed: env, processEnv: env })
  return env
}

/** What sstash-run gives a command after `sstash import --into p`, through the same library functions. */
function viaStash(text: string, base: Record<string, string>, expanding: boolean): Record<string, string> {
  const { vars } = importDotenv(text, { into: ['p'], expand: expanding, env: base })
  const tree = new Tree()
  for (const [name, value] of vars) tree.write(['p', name], new TextEncoder().encode(value))
  const entries = vars.size > 0 ? tree.entries(['p']) : []
  return childEnv(base, envFromSelections([{ base: ['p'], entries }])).env
}

function refusesToExpand(text: string): boolean {
  try {
    importDotenv(text, { into: ['p'], expand: true, env: {} })
    return false
  } catch (error) {
    if (error instanceof SSError && error.code === 'BAD_INPUT') return true
    throw error
  }
}

const BASE = { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', SHELL_LEVEL: '1' }
const ACCEPTED = fc.oneof(
  fc.constantFrom('http_proxy', 'nextAuthSecret', 'KEY-WITH-DASH', 'a.b', 'DB_HOST', 'x', 'NODE_ENV', 'LANG', '_x'),
  fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,6}$/),
).filter((name) => nameProblem(name) === undefined)
const REFUSED = fc.constantFrom('LD_PRELOAD', 'npm_config_script_shell', 'GIT_DIR', '1PASSWORD', '.hidden', '-dash', 'HOME', 'PYTHONWARNINGS')
const RAW_VALUE = fc.oneof(
  // No bare `$` in the random text: next to `&`, `'`, `` ` `` or another `$` it would be one of
  // the replacement patterns that dotenv-expand mishandles and sstash does not (tested below).
  fc.string({ maxLength: 12 }).map((s) => s.replace(/[\0\n\r$]/g, '')),
  fc.constantFrom('${DB_HOST}', '$x', '${MISSING:-fallback}', '${LANG}-more', '\\$literal', 'a # comment', "'single $x'", '"double\\n$x"', '`back`', ' spaced ', '"multi\nline"', '${a.b}', 'x=y=z'),
)
const LINE = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(ACCEPTED, RAW_VALUE).map(([name, value]) => `${name}=${value}`) },
  { weight: 1, arbitrary: fc.tuple(ACCEPTED, RAW_VALUE).map(([name, value]) => `export ${name} = ${value}`) },
  { weight: 1, arbitrary: fc.constantFrom('FOO BAR', '# a comment', '', '   ', 'just words', '=novalue') },
)
const DOTENV = fc.array(LINE, { maxLength: 12 }).map((lines) => lines.join('\n'))

describe('a .env through the stash gives the command what dotenv run gives it', () => {
  it.each([false, true])('for any .env of names sstash-run takes, the environments are equal (expand: %s, property)', (expanding) => {
    fc.assert(
      fc.property(DOTENV, (text) => {
        // Expansion at import takes the file's value of a name the environment also sets (the
        // stash keeps what the file says); dotenv run takes the environment's. Both then let
        // the environment's value reach the command, which the run without expansion checks.
        if (expanding) fc.pre(!Object.keys(dotenv.parse(text)).some((name) => Object.hasOwn(BASE, name)))
        // A loop of references is refused at import (dotenv run grows it until memory runs out).
        if (expanding) fc.pre(!refusesToExpand(text))
        expect(viaStash(text, BASE, expanding)).toEqual(dotenvRun(text, BASE, expanding))
      }),
      { numRuns: 400 },
    )
  })

  it('names, at import, every name of the file that sstash-run will refuse (property)', () => {
    const text = fc.array(fc.oneof(LINE, fc.tuple(REFUSED, RAW_VALUE).map(([name, value]) => `${name}=${value}`)), { maxLength: 12 }).map((lines) => lines.join('\n'))
    fc.assert(
      fc.property(text, (source) => {
        const { vars, notes } = importDotenv(source, { into: ['p'], env: BASE })
        for (const name of vars.keys()) {
          const refused = notes.some((note) => note.startsWith(`sstash-run will refuse ${name},`))
          expect(refused, name).toBe(nameProblem(name) !== undefined)
        }
      }),
      { numRuns: 300 },
    )
  })
})

describe('what sstash import reports', () => {
  it('reports ignored lines by number, duplicates with the line that won, refused names and references, all at once', () => {
    const text = 'A=1\nFOO BAR secret-looking\nB="two\nlines"\n# comment\n\nA=2\nLD_PRELOAD=/x.so\n1PASS=q\nURL=${HOST}/db\njust words\n'
    const { vars, notes } = importDotenv(text, { into: ['p'] })
    expect(vars.get('A')).toBe('2')
    expect(notes).toEqual([
      'lines 2 and 11 are not NAME=value: dotenv ignores them, so nothing was imported from them',
      'A is set on lines 1 and 7: the value of line 7 was imported, as dotenv reads it',
      "sstash-run will refuse LD_PRELOAD, one of the dynamic loader's variables, which can make programs run other code (pass --allow LD_PRELOAD to inject it anyway)",
      'sstash-run will refuse 1PASS, which starts with a digit (give it a --prefix)',
      'URL holds ${...} references, stored as written: sstash-run does not expand them (import with --expand to expand them as dotenv run does)',
    ])
    expect(notes.join('\n')).not.toContain('secret-looking')
  })

  it('expands references with dotenv-expand’s rules, and names those neither the file nor the environment sets', () => {
    const text = 'USER_=app\nURL=postgres://${USER_}:${PASS}@${HOST:-localhost}/${DB}\nPRICE=\\$5\nLATER=${NEXT}\nNEXT=n\n'
    const { vars, notes } = importDotenv(text, { into: ['p'], expand: true, env: { DB: 'prod', SSTASH_PASSWORD: 'never' } })
    expect(Object.fromEntries(vars)).toEqual({ USER_: 'app', URL: 'postgres://app:@localhost/prod', PRICE: '$5', LATER: 'n', NEXT: 'n' })
    expect(notes).toEqual(['PASS and HOST are neither in the file nor set: expanded to the empty string or the default given'])
    expect(importDotenv('X=${SSTASH_PASSWORD}\n', { into: ['p'], expand: true, env: { SSTASH_PASSWORD: 'never' } }).vars.get('X')).toBe('')
  })

  it('refuses to expand a loop of references, which dotenv-expand would grow without end', () => {
    for (const [text, message] of [
      ['x=single $x\n', 'cannot expand x: it refers to itself'],
      ['A=${B}\nB=${C:-$A}x\nC=\n', 'cannot expand A: it refers to itself through B'],
    ] as const) {
      const started = performance.now()
      expect(() => importDotenv(text, { into: ['p'], expand: true })).toThrow(message)
      expect(performance.now() - started).toBeLessThan(1000)
      expect(importDotenv(text, { into: ['p'] }).vars.size).toBeGreaterThan(0)
    }
  })

  it('puts a value in place as written, where dotenv-expand reads $& or $$ in it as a pattern and never ends', () => {
    // Each of these hangs `dotenv run` (dotenv-expand puts `${B}` back for `$&`, for ever) or
    // mangles the value; the pattern may form only once two references meet (`${D}${C}`).
    for (const [text, want] of [
      ['A=${B}\nB=$&\n', '$&'],
      ['A=x${B}y\nB=a$$1$\'$`\n', "xa$$1$'$`y"],
      ['D=$\nC=&\nB=${D}${C}\nA=${B}\n', '$&'],
      ['A=${MISSING:-$&}\n', '$&'],
    ] as const) {
      const started = performance.now()
      expect(importDotenv(text, { into: ['p'], expand: true, env: {} }).vars.get('A')).toBe(want)
      expect(performance.now() - started).toBeLessThan(1000)
    }
  })

  it('finds the references dotenv-expand would expand, and not escaped ones', () => {
    expect(referencesOf('${A}-$B-${C:-d}-${D:+e}-\\$E-\\${F}')).toEqual(['A', 'B', 'C', 'D'])
  })
})
