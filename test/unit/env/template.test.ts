import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SSReferenceError } from '../../../src/env/references.js'
import { parseTemplate, renderTemplate, templateKeys } from '../../../src/env/template.js'
import { SSError } from '../../../src/errors.js'
import { treeOf, thrown } from '../../helpers.js'

const tree = treeOf({ 'project/db/URL': 'postgres://db', 'my key/x': 'spaced', 'a}b': 'brace', 'café/😀': 'unicode' })
const render = (text: string): string => Buffer.from(renderTemplate(parseTemplate(text, 'config.tpl'), tree)).toString('utf8')

describe('templates', () => {
  it.each([
    ['{{ sstash://project/db/URL }}', 'postgres://db'],
    ['{{sstash://project/db/URL}}', 'postgres://db'],
    ['{{ \t sstash://project/db/URL \t }}', 'postgres://db'],
    ['{"url": "{{ sstash://project/db/URL }}"}', '{"url": "postgres://db"}'],
    ['{{ sstash://my key/x }}', 'spaced'],
    ['{{ sstash://a\\x7db }}', 'brace'],
    ['{{ sstash://café/😀 }}', 'unicode'],
    ['{{ sstash://project/db/URL }}{{ sstash://my key/x }}', 'postgres://dbspaced'],
    ['{{{ sstash://project/db/URL }}}', '{postgres://db}'],
    ['a\r\nb {{ sstash://project/db/URL }}\r\n', 'a\r\nb postgres://db\r\n'],
    ['\ufeffbom {{ sstash://project/db/URL }}', '\ufeffbom postgres://db'],
  ])('fills %j', (template, output) => {
    expect(render(template)).toBe(output)
  })

  it.each([
    ['{{ .Values.image }}', 'a Helm placeholder'],
    ['${{ secrets.TOKEN }}', 'a GitHub Actions expression'],
    ['{% raw %}{{ x }}{% endraw %}', 'Jinja'],
    ['{{', 'a lone {{'],
    ['}} {{ }}', 'stray braces'],
    ['sstash://project/db/URL', 'a reference outside braces'],
    ['\\{{ x }}', 'a backslash before {{'],
  ])('copies %j (%s) as it is', (template) => {
    expect(render(template)).toBe(template)
  })

  it.each([
    ['{{ \\sstash://project/db/URL }}', '{{ sstash://project/db/URL }}'],
    ['{{\\sstash://x}}', '{{sstash://x}}'],
    ['{{ \\\\sstash://x }}', '{{ \\sstash://x }}'],
    ['{{ \\SSTASH://x }}', '{{ SSTASH://x }}'],
    ['{{ \\sstash://x', '{{ sstash://x'],
  ])('writes the escaped %j as the literal %j', (template, output) => {
    expect(render(template)).toBe(output)
  })

  it('keeps a backslash before {{ and fills the placeholder after it, as a JSON Windows path needs', () => {
    expect(render('{"dir": "C:\\\\Users\\\\{{ sstash://my key/x }}"}')).toBe('{"dir": "C:\\\\Users\\\\spaced"}')
  })

  it('inserts values byte for byte, whatever they hold', () => {
    const bytes = new Uint8Array([0x00, 0xff, 0x0a, 0x7b, 0x7b])
    const out = renderTemplate(parseTemplate('<{{ sstash://bin }}>', 't'), treeOf({ bin: bytes }))
    expect([...out]).toEqual([0x3c, ...bytes, 0x3e])
  })

  it('reports every malformed placeholder at once, by line and column', () => {
    const template = [
      'ok: {{ sstash://project/db/URL }}',
      'a: {{ SSTASH://x }}',
      'b: {{ sstash:/x }}',
      'c: {{ sstash:// }}',
      '  d: {{ sstash://a//b }}',
      'e: {{ sstash://x',
      '}}',
      'f: {{ sstash://x',
    ].join('\n')
    const error = thrown(() => parseTemplate(template, 'config.tpl')) as SSReferenceError
    expect(error.code).toBe('BAD_TEMPLATE')
    expect(error.message.split('\n')).toEqual([
      'config.tpl:2:4: the placeholder looks like a reference but its scheme is not lowercase sstash://',
      'config.tpl:3:4: the placeholder looks like a reference but does not start with sstash:// (two slashes)',
      'config.tpl:4:4: the placeholder has no key path after sstash://',
      'config.tpl:5:6: the placeholder has a key path that does not parse: it has an empty segment (write \\e for an empty name)',
      'config.tpl:6:4: the placeholder has no }} on its line',
      'config.tpl:8:4: the placeholder has no }} on its line',
    ])
    expect(error.hint).toContain('{{ \\sstash:')
  })

  it('refuses a template that is not UTF-8', () => {
    const error = thrown(() => parseTemplate(new Uint8Array([0x7b, 0xff]), 'x.tpl'))
    expect(error.message).toBe('x.tpl is not valid UTF-8')
    expect(error.code).toBe('BAD_INPUT')
  })

  it('lists the key paths to read, and reports every unresolved one at once', () => {
    const template = parseTemplate('{{ sstash://project/db/URL }}\n  {{ sstash://project/db/PASSWORD }} {{ sstash://project }}\n{{ sstash://nope }}', 'c.tpl')
    expect(templateKeys(template)).toEqual([['project', 'db', 'URL'], ['project', 'db', 'PASSWORD'], ['project'], ['nope']])
    const error = thrown(() => renderTemplate(template, tree)) as SSReferenceError
    expect(error.code).toBe('UNRESOLVED_REFERENCE')
    expect(error.message.split('\n')).toEqual([
      'c.tpl:2:3: sstash://project/db/PASSWORD was not found in the stash',
      'c.tpl:2:38: sstash://project holds no value (only keys below it)',
      'c.tpl:3:1: sstash://nope was not found in the stash',
    ])
    expect(error.message).not.toContain('postgres')
  })

  it('needs no stash for a template without placeholders', () => {
    const template = parseTemplate('plain {{ x }}', 't')
    expect(templateKeys(template)).toEqual([])
    expect(Buffer.from(renderTemplate(template, () => { throw new Error('not called') })).toString()).toBe('plain {{ x }}')
  })
})

describe('template properties', () => {
  // Text that never says sstash: (in any case): everything else, braces and backslashes included.
  const TRICKY = [...'{}\\ \t\n\r"\'$%ab', '{{', '}}', '{{ ', ' }}', 'sstash', 'sstash/', '://', 'é', '😀']
  const text = fc.oneof(fc.array(fc.constantFrom(...TRICKY), { maxLength: 14 }).map((p) => p.join('')), fc.string({ unit: 'grapheme', maxLength: 20 }))
    .filter((t) => !/sstash:/i.test(t))

  it('copies any text without a placeholder exactly (property)', () => {
    fc.assert(fc.property(text, (t) => void expect(render(t)).toBe(t)), { numRuns: 3000 })
  })

  it('fills a placeholder whatever text surrounds it (property)', () => {
    const blanks = fc.constantFrom('', ' ', '\t', '  \t')
    fc.assert(
      fc.property(text, text, blanks, blanks, (before, after, left, right) => {
        expect(render(`${before}{{${left}sstash://project/db/URL${right}}}${after}`)).toBe(`${before}postgres://db${after}`)
      }),
      { numRuns: 3000 },
    )
  })

  it('never puts a value in an error message (property)', () => {
    const secret = fc.stringMatching(/^[A-Za-z0-9]{12,20}$/).map((s) => `S3CRET${s}`)
    const piece = fc.oneof(text, fc.constantFrom('{{ sstash://k }}', '{{ sstash://missing }}', '{{ SSTASH://x }}', '{{ sstash://k'))
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 6 }), secret, (pieces, stored) => {
        try {
          renderTemplate(parseTemplate(pieces.join(''), 't'), treeOf({ k: stored }))
        } catch (error) {
          expect(error).toBeInstanceOf(SSReferenceError)
          expect((error as SSError).message).not.toContain('S3CRET')
        }
      }),
      { numRuns: 1500 },
    )
  })
})
