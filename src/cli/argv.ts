/**
 * A small argv parser for the two binaries parsed by hand (sstash-run, git-credential-sstash) to keep their start-up small (cac costs
 * a few milliseconds to load). Options are declared by spelling; values come inline
 * (`--key=v`), attached to a one-letter option (`-kv`) or as the next argument; `--` ends the
 * options, and what follows is returned untouched. Values stay strings exactly as typed.
 */
import { SSError } from '../errors.js'

/** How one spelling of an option is read. */
export interface OptionSpec {
  /** The name the value is filed under (`-k` and `--key` share `key`). */
  name: string
  /** Takes a value (repeatable: every value is kept, in order). */
  value?: boolean
}

/** What {@link parseArgv} found. */
export interface ParsedArgv {
  /** Values by option name, in the order given. */
  values: Map<string, string[]>
  /** Flags given (options without a value). */
  flags: Set<string>
  /** Arguments before `--` that are not options. */
  positional: string[]
  /** Everything after the first `--`, or undefined when there was none. */
  rest?: string[]
}

/**
 * Parses `argv` against `spec` (spellings such as `-k`, `--key`, `--mask`).
 * @param usage - the usage line, the hint of every error
 * @throws {SSError} USAGE for an unknown option, a missing value, or a value given to a flag
 */
export function parseArgv(argv: readonly string[], spec: Readonly<Record<string, OptionSpec>>, usage: string): ParsedArgv {
  const parsed: ParsedArgv = { values: new Map(), flags: new Set(), positional: [] }
  const fail = (message: string): never => {
    throw new SSError(message, 'USAGE', { hint: usage })
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--') return { ...parsed, rest: argv.slice(i + 1) }
    if (!arg.startsWith('-') || arg === '-') {
      parsed.positional.push(arg)
      continue
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1
    let spelling = eq === -1 ? arg : arg.slice(0, eq)
    let inline = eq === -1 ? undefined : arg.slice(eq + 1)
    // `-kvalue`: a one-letter option with its value attached.
    if (!arg.startsWith('--') && arg.length > 2 && spec[arg.slice(0, 2)]?.value) {
      spelling = arg.slice(0, 2)
      inline = arg.slice(2)
    }
    const option = Object.hasOwn(spec, spelling) ? spec[spelling] : undefined
    if (option === undefined) return fail(`unknown option ${spelling}`)
    if (!option.value) {
      if (inline !== undefined) fail(`${spelling} does not take a value`)
      parsed.flags.add(option.name)
      continue
    }
    if (inline === undefined) {
      const next = argv[i + 1]
      if (next === undefined || next === '--') fail(`${spelling} needs a value`)
      inline = next as string
      i++
    }
    const list = parsed.values.get(option.name)
    if (list) list.push(inline)
    else parsed.values.set(option.name, [inline])
  }
  return parsed
}
