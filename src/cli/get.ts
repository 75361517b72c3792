/**
 * `sstash get`, the command scripts run most (`$(sstash get ...)`). It has a bundle of its own
 * (scripts/bundle.mjs), which bin/sstash.cjs tries first when the command line holds `get`: a
 * plain `sstash [--stash <path>] get <keypath>` then runs without loading cac, the other commands
 * and their code (docs/SPEED.md). Any other line, `--help` and mistakes included, is left to
 * the full `sstash` (./sstash.ts), which runs `get` with this same function.
 */
import { parseKeyPath } from '../tree/key-path.js'
import { parseArgv } from './argv.js'
import { runMain } from './exit.js'
import { readFromOptions, type GlobalOptions } from './stash-options.js'
import { writeStdout } from './stdout.js'
import { isTerminal } from './terminal.js'

/** Prints the value at `keypath`: raw bytes, with a newline added only on a terminal. */
export async function get(keypath: string, options: GlobalOptions): Promise<void> {
  const key = parseKeyPath(keypath)
  const value = (await readFromOptions(options, [key])).read(key)
  writeStdout(value)
  // On a terminal only, so the shell prompt does not run into the value; pipes get the bytes as stored.
  if (isTerminal(1) && value.at(-1) !== 0x0a) writeStdout('\n')
}

/** The key path and options of a plain `sstash [--stash <path>] get <keypath>` of valid UTF-8, else undefined. */
export function plainGet(argv: readonly string[]): { keypath: string; options: GlobalOptions } | undefined {
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

/**
 * Runs a plain `sstash get` (see {@link plainGet}).
 * @returns its completion, or undefined (having done nothing) for any other command line
 */
export function main(argv: readonly string[]): Promise<void> | undefined {
  const plain = plainGet(argv)
  return plain && runMain(() => get(plain.keypath, plain.options))
}
