/**
 * The one argv parser of the three binaries. sstash parses its line here before cac sees it
 * (cac's own parser, mri, turns `--stash 007` into the file `7` and reads an empty `--stash=` as
 * "take the next argument"); sstash-run and git-credential-sstash parse with it alone and never
 * load cac (a few milliseconds on every start and every fetch). Values stay strings exactly as typed.
 *
 * The rules, as getopt's:
 *   - `--name=value` and `--name value` give `value` as typed, even when it starts with `-`;
 *     `-kvalue` and `-k value` likewise for a one-letter option that takes a value;
 *   - `-rf` is `-r -f`; a flag takes no value (`--json=yes` is an error);
 *   - an option that takes a value needs one: at the end of the line, or before `--`, it is an
 *     error (`sstash-run -k -- cmd` is a forgotten key path, not the key path `--`);
 *     `--name=` is the empty string, for the command to accept or refuse;
 *   - `--` ends the options: what follows is returned untouched; `-` alone is an argument (stdin);
 *   - an option given twice keeps every value, in order;
 *   - an unknown option is an error, or, for cac, kept as a flag for it to refuse by name.
 */
import { SSError } from '../errors.js'

/** One option: its names without dashes, as cac stores them (one letter for `-k`, `envFile` for `--env-file`). */
export interface OptionSpec {
  readonly names: readonly string[]
  /** Takes a value (else it is a flag). */
  readonly takesValue: boolean
}

/** What to do with an unknown option: throw (with `usage` as the hint), or keep it for cac. */
export type ParseMode = { unknown: 'error'; usage: string } | { unknown: 'keep' }

/** What {@link parseArgv} found. */
export interface ParsedArgv {
  /** The arguments before `--` that are not options or their values, in order. */
  args: string[]
  /** Everything after the first `--`, or undefined when there was none. */
  rest?: string[]
  /**
   * Each option given, under each of its names: its values in order, or `true` for a flag (and,
   * in `keep` mode, for an unknown option, under its name camelCased). No prototype.
   */
  options: Record<string, string[] | true>
  /** `keep` mode: the first mistake (a value missing, a flag given one), for the command that matched. */
  error?: string
}

const camelCase = (name: string): string => name.replace(/([a-z])-([a-z])/g, (_, a: string, b: string) => a + b.toUpperCase())

/**
 * Parses `argv` (without the program name) against `specs`.
 * @returns the arguments and options; in `keep` mode it never throws, so that several
 *   commands' options can be tried on one line
 * @throws {SSError} USAGE in `error` mode: an unknown option, a value missing, a flag given one
 */
export function parseArgv(argv: readonly string[], specs: readonly OptionSpec[], mode: ParseMode): ParsedArgv {
  const byName = new Map<string, OptionSpec>()
  for (const spec of specs) for (const name of spec.names) byName.set(name, spec)
  const parsed: ParsedArgv = { args: [], options: Object.create(null) as ParsedArgv['options'] }
  const fail = (why: string): void => {
    if (mode.unknown === 'error') throw new SSError(why, 'USAGE', { hint: mode.usage })
    parsed.error ??= why
  }
  // `value` is the inline value (`--name=v`, `-kv`), else undefined: the next argument is taken if the option wants one.
  const take = (typed: string, name: string, value: string | undefined, i: number): number => {
    const spec = byName.get(name)
    if (spec === undefined) {
      if (mode.unknown === 'error') fail(`unknown option ${typed}`)
      parsed.options[name] = true
      return i
    }
    if (!spec.takesValue) {
      if (value === undefined) for (const alias of spec.names) parsed.options[alias] = true
      else fail(`option ${typed} takes no value`)
      return i
    }
    if (value === undefined) {
      const next = argv[i + 1]
      if (next === undefined || next === '--') {
        fail(`option ${typed} needs a value`)
        return i
      }
      value = next
      i++
    }
    // One list, filed under every name (cac reads `outFile` where `-o` was typed).
    const list = parsed.options[spec.names[0] as string]
    if (Array.isArray(list)) list.push(value)
    else {
      const values = [value]
      for (const alias of spec.names) parsed.options[alias] = values
    }
    return i
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--') {
      parsed.rest = argv.slice(i + 1)
      break
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=')
      const typed = eq < 0 ? arg : arg.slice(0, eq)
      i = take(typed, camelCase(typed.slice(2)), eq < 0 ? undefined : arg.slice(eq + 1), i)
    } else if (arg.startsWith('-') && arg !== '-') {
      for (let j = 1; j < arg.length; ) {
        // By code point, so that an unknown `-😀` is named whole.
        const name = String.fromCodePoint(arg.codePointAt(j) as number)
        j += name.length
        // getopt: a letter that takes a value takes the rest of the word, else the next argument.
        if (byName.get(name)?.takesValue === true) {
          i = take(`-${name}`, name, j < arg.length ? arg.slice(j) : undefined, i)
          break
        }
        take(`-${name}`, name, undefined, i)
      }
    } else parsed.args.push(arg)
  }
  return parsed
}
