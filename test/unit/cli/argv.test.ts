import { describe, expect, it } from 'vitest'
import { parseArgv } from '../../../src/cli/argv.js'
import { SSError } from '../../../src/errors.js'

const SPEC = { '-k': { name: 'key', value: true }, '--key': { name: 'key', value: true }, '--mask': { name: 'mask' } }
const parse = (argv: string[]): ReturnType<typeof parseArgv> => parseArgv(argv, SPEC, 'usage: x')

describe('the argv helper', () => {
  it('takes values inline, attached to a one-letter option, or next, as typed, in order', () => {
    const parsed = parse(['-k', '007', '--key=0x10', '-k1e3', '--mask', 'pos', '--', '-k', 'rest'])
    expect(parsed.values.get('key')).toEqual(['007', '0x10', '1e3'])
    expect([...parsed.flags]).toEqual(['mask'])
    expect(parsed.positional).toEqual(['pos'])
    expect(parsed.rest).toEqual(['-k', 'rest'])
  })

  it('has no rest without --, and keeps a lone - as a positional argument', () => {
    expect(parse(['-']).rest).toBeUndefined()
    expect(parse(['-']).positional).toEqual(['-'])
  })

  it.each([
    [['--nope'], 'unknown option --nope'],
    [['-k'], '-k needs a value'],
    [['-k', '--'], '-k needs a value'],
    [['--mask=yes'], '--mask does not take a value'],
    [['--constructor'], 'unknown option --constructor'],
  ])('refuses %j as a usage error: %s', (argv, message) => {
    expect(() => parse(argv)).toThrow(message)
    try {
      parse(argv)
    } catch (error) {
      expect(error).toBeInstanceOf(SSError)
      expect((error as SSError).code).toBe('USAGE')
      expect((error as SSError).hint).toBe('usage: x')
    }
  })
})
