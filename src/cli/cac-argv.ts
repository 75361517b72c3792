/**
 * The `sstash` command line, parsed exactly before cac sees it: every option value and argument
 * is the string that was typed (./argv.ts does the same for the binaries that do without cac). cac's own parser (mri) turns values that look like numbers into numbers
 * (`--stash 007` became the file `7`, `--stash=1e3` the file `1000`) and reads an empty
 * `--stash=` as "take the next argument"; cac keeps the commands, their help and their checks.
 *
 * The rules, as getopt's:
 *   - `--name=value` and `--name value` give `value` as typed, even when it starts with `-`;
 *     `-x value` likewise for a one-letter option that takes a value;
 *   - a flag takes no value (`--json=yes` is an error); `-rf` is `-r -f`;
 *   - `--` ends the options: what follows are arguments, whatever they look like; `-` alone
 *     is an argument (stdin);
 *   - an option given twice keeps both values, in order (an array);
 *   - an unknown option is kept, as a flag, for cac to refuse by name.
 */

/** One option as the parser needs it: its names without dashes (camelCased, as cac stores them). */
export interface OptionSpec {
  names: readonly string[]
  takesValue: boolean
}

/** What {@link parseArgv} found. */
export interface ParsedArgv {
  /** The arguments, in order (those after `--` included). */
  args: string[]
  /** Each option under each of its names: `true` for a flag, the value (or values) as typed. */
  options: Record<string, string | string[] | true | undefined> & { '--': string[] }
  /** The first mistake (a value missing, a flag given one), for the command that matched. */
  error?: string
}

const camelCase = (name: string): string => name.replace(/([a-z])-([a-z])/g, (_, a: string, b: string) => a + b.toUpperCase())

/**
 * Parses `argv` (without the program name) against `specs`.
 * @returns the arguments and options; never throws, so that several commands' options can be tried
 */
export function parseArgv(argv: readonly string[], specs: readonly OptionSpec[]): ParsedArgv {
  const byName = new Map<string, OptionSpec>()
  for (const spec of specs) for (const name of spec.names) byName.set(name, spec)
  const parsed: ParsedArgv = { args: [], options: Object.assign(Object.create(null) as ParsedArgv['options'], { '--': [] }) }
  const fail = (why: string): void => {
    parsed.error ??= why
  }
  const set = (typed: string, name: string, value: string | true): void => {
    const spec = byName.get(name)
    if (spec === undefined) {
      parsed.options[name] = value
      return
    }
    if (spec.takesValue && value === true) return fail(`option ${typed} needs a value`)
    if (spec.takesValue && value === '') return fail(`option ${typed} needs a value`)
    if (!spec.takesValue && value !== true) return fail(`option ${typed} takes no value`)
    for (const alias of spec.names) {
      const old = parsed.options[alias]
      parsed.options[alias] = value === true || old === undefined || old === true ? value : [...(Array.isArray(old) ? old : [old]), value]
    }
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--') {
      const rest = argv.slice(i + 1)
      parsed.args.push(...rest)
      parsed.options['--'] = rest
      break
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=')
      const typed = eq < 0 ? arg : arg.slice(0, eq)
      const name = camelCase(typed.slice(2))
      const takesValue = byName.get(name)?.takesValue === true
      const value = eq >= 0 ? arg.slice(eq + 1) : takesValue && i + 1 < argv.length ? (argv[++i] as string) : true
      set(typed, name, value)
    } else if (arg.startsWith('-') && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const name = arg[j] as string
        if (byName.get(name)?.takesValue !== true) {
          set(`-${name}`, name, true)
          continue
        }
        // getopt: the rest of the word is the value, else the next argument.
        const value = j + 1 < arg.length ? arg.slice(j + 1) : i + 1 < argv.length ? (argv[++i] as string) : true
        set(`-${name}`, name, value)
        break
      }
    } else {
      parsed.args.push(arg)
    }
  }
  return parsed
}
