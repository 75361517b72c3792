/**
 * What both halves of `sstash get` share (./get-agent.ts, answered by the agent, and ./get.ts,
 * which opens the stash): which command lines are a plain `get`, and how a value is printed.
 * It loads no more than they both need.
 */
import { parseArgv } from './argv.js'
import { writeStdout } from './stdout.js'
import { isTerminal } from './terminal.js'

/** The key path and options of a plain `sstash [--stash <path>] get <keypath>` of valid UTF-8, else undefined. */
export function plainGet(argv: readonly string[]): { keypath: string; options: { stash?: string } } | undefined {
  // An argument Node could not decode is sstash's to refuse, with its own message.
  if (argv.some((arg) => arg.includes('\ufffd'))) return undefined
  const parsed = parseArgv(argv, [{ names: ['stash'], takesValue: true }], { unknown: 'keep' })
  const [command, keypath, ...rest] = parsed.args
  if (parsed.error !== undefined || parsed.rest !== undefined || command !== 'get' || keypath === undefined || rest.length > 0) return undefined
  const { stash, ...unknown } = parsed.options
  // An unknown option, or an empty --stash, is for sstash to refuse with its own message.
  if (Object.keys(unknown).length > 0 || stash === true || stash?.includes('')) return undefined
  return { keypath, options: { stash: stash?.at(-1) } }
}

/** Prints a value as `sstash get` does: its raw bytes, with a newline added only on a terminal. */
export function printValue(value: Uint8Array): void {
  writeStdout(value)
  // On a terminal only, so the shell prompt does not run into the value; pipes get the bytes as stored.
  if (isTerminal(1) && value.at(-1) !== 0x0a) writeStdout('\n')
}
