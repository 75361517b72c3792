import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { parseArgv, type OptionSpec, type ParseMode } from '../../../src/cli/argv.js'
import { SSError } from '../../../src/errors.js'

const SPEC: readonly OptionSpec[] = [
  { names: ['k', 'key'], takesValue: true },
  { names: ['envFile'], takesValue: true },
  { names: ['m', 'mask'], takesValue: false },
  { names: ['r'], takesValue: false },
]
const STRICT: ParseMode = { unknown: 'error', usage: 'usage: x' }
const KEEP: ParseMode = { unknown: 'keep' }
const parse = (argv: string[], mode: ParseMode = STRICT): ReturnType<typeof parseArgv> => parseArgv(argv, SPEC, mode)

describe('the argv parser', () => {
  it('takes values inline, attached to a one-letter option, or next, as typed, in order', () => {
    const parsed = parse(['-k', '007', '--key=0x10', '-k1e3', '--mask', 'pos', '--key', '-r', '--', '-k', 'rest'])
    expect(parsed.options.key).toEqual(['007', '0x10', '1e3', '-r'])
    expect(parsed.options.k).toBe(parsed.options.key)
    expect(parsed.options.mask).toBe(true)
    expect(parsed.options.m).toBe(true)
    expect(parsed.options.r).toBeUndefined()
    expect(parsed.args).toEqual(['pos'])
    expect(parsed.rest).toEqual(['-k', 'rest'])
  })

  it('reads a group of one-letter options as getopt does: -rm is -r -m, and -mkVALUE ends with the value', () => {
    const parsed = parse(['-rm', '-mkv=1', '-rk', 'next'])
    expect(parsed.options).toEqual(Object.assign(Object.create(null), { r: true, m: true, mask: true, k: ['v=1', 'next'], key: ['v=1', 'next'] }))
  })

  it('reads --env-file under its camelCased name, as cac does', () => {
    expect(parse(['--env-file', 'a', '--env-file=b']).options.envFile).toEqual(['a', 'b'])
  })

  it('keeps an empty inline value as the empty string, for the command to judge', () => {
    expect(parse(['--key=', '-k', '']).options.key).toEqual(['', ''])
  })

  it('has no rest without --, and keeps a lone - as an argument', () => {
    expect(parse(['-']).rest).toBeUndefined()
    expect(parse(['-']).args).toEqual(['-'])
    expect(parse(['--']).rest).toEqual([])
  })

  it('files options on an object with no prototype, so that --constructor is an unknown option', () => {
    expect(() => parse(['--constructor'])).toThrow('unknown option --constructor')
    const kept = parse(['--__proto__', '--constructor=1'], KEEP)
    expect(Object.keys(kept.options)).toEqual(['__proto__', 'constructor'])
    expect(Object.getPrototypeOf(kept.options)).toBeNull()
  })

  it.each([
    [['--nope'], 'unknown option --nope'],
    [['-x'], 'unknown option -x'],
    [['-rxk', 'v'], 'unknown option -x'],
    [['-😀'], 'unknown option -😀'],
    [['-k'], 'option -k needs a value'],
    [['--key'], 'option --key needs a value'],
    [['-k', '--'], 'option -k needs a value'],
    [['--key', '--', 'cmd'], 'option --key needs a value'],
    [['-mk'], 'option -k needs a value'],
    [['--mask=yes'], 'option --mask takes no value'],
    [['--mask='], 'option --mask takes no value'],
    [['--constructor'], 'unknown option --constructor'],
  ])('refuses %j as a usage error: %s', (argv, message) => {
    let thrown: unknown
    try {
      parse(argv)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(SSError)
    expect((thrown as SSError).message).toBe(message)
    expect((thrown as SSError).code).toBe('USAGE')
    expect((thrown as SSError).hint).toBe('usage: x')
  })

  it('in keep mode never throws: it keeps an unknown option as a flag for cac, and returns the first mistake', () => {
    const parsed = parse(['--nope=1', '-x', '--mask=yes', '-k', '--', 'a'], KEEP)
    expect(parsed.options).toEqual(Object.assign(Object.create(null), { nope: true, x: true }))
    expect(parsed.error).toBe('option --mask takes no value')
    expect(parsed.rest).toEqual(['a'])
    expect(parse(['--no-such-thing'], KEEP).options.noSuchThing).toBe(true)
    expect(parse(['-k'], KEEP).error).toBe('option -k needs a value')
  })

  it('returns every value, argument and word after -- exactly as typed, whatever the line', () => {
    type Item = { kind: 'value'; value: string; form: number } | { kind: 'flag' } | { kind: 'arg'; value: string }
    const item: fc.Arbitrary<Item> = fc.oneof(
      fc.record({ kind: fc.constant('value' as const), value: fc.string({ unit: 'binary' }), form: fc.integer({ min: 0, max: 4 }) }),
      fc.constant({ kind: 'flag' as const }),
      fc.record({ kind: fc.constant('arg' as const), value: fc.string({ unit: 'binary' }).filter((s) => s === '-' || !s.startsWith('-')) }),
    )
    const rest = fc.option(fc.array(fc.string({ unit: 'binary' }), { maxLength: 5 }), { nil: undefined })
    fc.assert(
      fc.property(fc.array(item, { maxLength: 12 }), rest, (items, after) => {
        const argv: string[] = []
        const values: string[] = []
        const args: string[] = []
        for (const one of items) {
          if (one.kind === 'flag') argv.push('-m')
          else if (one.kind === 'arg') {
            argv.push(one.value)
            args.push(one.value)
          } else {
            // A value that cannot be written in a form is written inline, which takes anything.
            const form = (one.value === '--' && one.form < 2) || (one.value === '' && one.form >= 3) ? 2 : one.form
            argv.push(...[['--key', one.value], ['-k', one.value], [`--key=${one.value}`], [`-k${one.value}`], [`-rmk${one.value}`]][form]!)
            values.push(one.value)
          }
        }
        if (after) argv.push('--', ...after)
        const parsed = parse(argv)
        expect(parsed.options.key).toEqual(values.length > 0 ? values : undefined)
        expect(parsed.args).toEqual(args)
        expect(parsed.rest).toEqual(after)
      }),
      { numRuns: 2000 },
    )
  })
})
