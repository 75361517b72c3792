/** Durations as `sstash unlock --timeout` and SSTASH_AGENT_TIMEOUT take them, and as status lines show them. */
import { describe, expect, it } from 'vitest'
import { formatDuration, parseDuration } from '../../../src/agent/duration.js'

describe('durations', () => {
  it('parses units, compound durations and bare seconds', () => {
    expect(parseDuration('90s')).toBe(90_000)
    expect(parseDuration('15m')).toBe(900_000)
    expect(parseDuration('2h')).toBe(7_200_000)
    expect(parseDuration('1h30m')).toBe(5_400_000)
    expect(parseDuration('1d')).toBe(86_400_000)
    expect(parseDuration('300')).toBe(300_000)
    expect(formatDuration(5_400_000)).toBe('1h 30m')
    expect(formatDuration(500)).toBe('1s')
  })

  it('refuses odd durations with BAD_DURATION', () => {
    for (const bad of ['', 'm', '15 m', '-5m', '1.5h', '0', '10ms', '31d', '15x', '1e3', 'Infinity'])
      expect(() => parseDuration(bad), bad).toThrow(expect.objectContaining({ code: 'BAD_DURATION' }))
  })
})
