/**
 * Durations as `sstash unlock --timeout` and SSTASH_AGENT_TIMEOUT take them (`90s`, `15m`,
 * `2h`, `1h30m`, `1d`, or bare seconds as git credential-cache's `--timeout`), and as status
 * lines show them.
 */
import { SSError } from '../errors.js'

/** How long a stash stays unlocked by default, counted from `sstash unlock`: git credential-cache's 15 minutes. */
export const DEFAULT_AGENT_TIMEOUT_MS = 15 * 60_000
/** The longest timeout accepted: 30 days. */
export const MAX_AGENT_TIMEOUT_MS = 30 * 24 * 3600_000

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/**
 * Parses a duration: `90s`, `15m`, `2h`, `1d`, `1h30m`, or a bare number of seconds.
 * @returns milliseconds, between 1 s and {@link MAX_AGENT_TIMEOUT_MS}
 * @throws {SSError} BAD_DURATION
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim()
  let ms: number | undefined
  if (/^\d+$/.test(trimmed)) ms = Number(trimmed) * 1_000
  else if (/^(\d+(ms|s|m|h|d))+$/.test(trimmed)) {
    ms = 0
    for (const [, amount, unit] of trimmed.matchAll(/(\d+)(ms|s|m|h|d)/g)) ms += Number(amount) * (UNITS[unit ?? 's'] ?? 1_000)
  }
  if (ms === undefined || !Number.isSafeInteger(ms))
    throw new SSError(`bad duration '${text}': use a number with a unit, such as 90s, 15m or 2h`, 'BAD_DURATION')
  if (ms < 1_000 || ms > MAX_AGENT_TIMEOUT_MS) throw new SSError(`bad duration '${text}': it must be between 1s and 30d`, 'BAD_DURATION')
  return ms
}

/** Renders milliseconds as `1h 2m 3s` (for status lines). */
export function formatDuration(ms: number): string {
  let seconds = Math.max(0, Math.round(ms / 1_000))
  const parts: string[] = []
  for (const [unit, size] of [['d', 86_400], ['h', 3_600], ['m', 60]] as const) {
    if (seconds >= size) {
      parts.push(`${Math.floor(seconds / size)}${unit}`)
      seconds %= size
    }
  }
  if (seconds > 0 || parts.length === 0) parts.push(`${seconds}s`)
  return parts.join(' ')
}
