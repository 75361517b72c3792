/**
 * What `sstash <typo>` says: the closest command names (`gett` -> `get`), or where a command
 * people try lives (`status` -> `agent status`).
 */
import type { CAC } from 'cac'
import { UsageError } from './exit.js'

/** Edits between two names, a swap of two neighbours counting as one (`gte` is one from `get`). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  const at = (i: number, j: number): number => (d[i] as number[])[j] as number
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1))
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1)
      ;(d[i] as number[])[j] = best
    }
  return at(a.length, b.length)
}

/** Commands people try that live under another name. */
const ELSEWHERE: Record<string, string> = { status: 'agent status' }

/**
 * The error for a command that does not exist, suggesting the closest ones.
 * @param cli - the command table
 * @param name - what was typed
 */
export function unknownCommand(cli: CAC, name: string): UsageError {
  const names = cli.commands.map((command) => command.name).filter((n) => n !== '')
  // The closest names only: `gett` is `get`, not also `set` and `agent`; a prefix counts as one edit.
  const scored = names.map((n) => ({ n, d: n.startsWith(name) ? 1 : distance(n, name) })).filter(({ d }) => d <= 2)
  const best = Math.min(...scored.map(({ d }) => d))
  const close = ELSEWHERE[name] !== undefined ? [ELSEWHERE[name]] : scored.filter(({ d }) => d === best).map(({ n }) => n).slice(0, 3)
  const hint = close.length > 0 ? `did you mean ${close.map((n) => `\`sstash ${n}\``).join(' or ')}?` : 'run `sstash --help` for the list of commands'
  return new UsageError(`unknown command ${JSON.stringify(name)}`, hint)
}
