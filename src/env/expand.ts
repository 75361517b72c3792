/**
 * dotenv-expand's expansion (version 12, `lib/main.js`, BSD-2-Clause, Copyright (c) 2016 Scott
 * Motte), step for step, with one difference: a value is put in place as the text it is.
 * dotenv-expand puts it in with `String.prototype.replace(template, value)`, which reads `$&`,
 * `$'`, `` $` `` and `$$` in the value as replacement patterns: a value `$&` put in place of
 * `${B}` puts `${B}` back, so `A=${B}` with `B=$&` never ends (`dotenv run` hangs on that file),
 * and the others mangle the value. Such a pattern can also form from two references side by
 * side (`${D}${C}` with `D=$` and `C=&`), so no check of the file's text could rule it out.
 * Everywhere else this gives what dotenv-expand gives (test/unit/env/dotenv-import.test.ts holds
 * the two to it).
 */

import { SSError } from '../errors.js'

/**
 * How many references one value may expand, and how long it may grow, before the expansion is
 * refused. A reference can form from the text of others (`A=x${B}`, `B=${D}{B}`, `D=$`: `${D}`
 * puts `$` before `{B}`, which is `${B}` again), which no reading of the file's text finds
 * beforehand, and then dotenv-expand's loop never ends: it swaps `${B}` and `${D}{B}` for ever.
 * A file whose references can all be seen (dotenv-import.ts bounds those to 1 MiB expanded,
 * each reference at least 2 bytes of it) never comes near the first two. The third bounds the work
 * (each step scans the value from its start and keeps it, as dotenv-expand does): a value that
 * grows by a byte a step would otherwise take minutes and gigabytes before reaching 1 MiB.
 */
export const EXPAND_BOUNDS = { substitutions: 512 * 1024, valueBytes: 1024 * 1024, scannedBytes: 64 * 1024 * 1024 } as const

/** dotenv-expand's reference pattern. */
export const REFERENCE = /(?<!\\)\${([^{}]+)}|(?<!\\)\$([A-Za-z_][A-Za-z0-9_]*)/g
/** dotenv-expand's operators (`:+`, `+`, `:-`, `-`): a reference's name ends at the first. */
export const OPERATOR = /(:\+|\+|:-|-)/
const resolveEscapes = (value: string): string => value.replace(/\\\$/g, '$')

function expandValue(name: string, value: string, processEnv: Record<string, string>, runningParsed: Record<string, string>): string {
  const env: Record<string, string | undefined> = { ...runningParsed, ...processEnv }
  const regex = new RegExp(REFERENCE.source, 'g')
  let result = value
  const seen = new Set<string>()
  let [substitutions, scanned] = [0, 0]
  for (let match = regex.exec(result); match !== null; match = regex.exec(result)) {
    scanned += result.length
    if (++substitutions > EXPAND_BOUNDS.substitutions || result.length > EXPAND_BOUNDS.valueBytes || scanned > EXPAND_BOUNDS.scannedBytes)
      throw new SSError(`cannot expand ${name}: its expansion does not settle within what --expand takes (a reference formed from the text of other values, or too much expansion)`, 'BAD_INPUT', {
        hint: 'import without --expand to store the values as written',
      })
    seen.add(result)
    const [template, braced, unbraced] = match
    const expression = (braced || unbraced) as string
    // dotenv-expand splits at `null` (the string "null") when there is no operator; so does this.
    const splitter = String(expression.match(OPERATOR)?.[0] ?? null)
    const [key = '', ...rest] = expression.split(splitter)
    const plus = splitter === ':+' || splitter === '+'
    const fallback = plus ? (env[key] ? rest.join(splitter) : '') : rest.join(splitter)
    const found = plus ? undefined : env[key]
    const by = found && !seen.has(found) ? found : fallback
    result = result.replace(template, () => by)
    if (result === runningParsed[key]) break
    regex.lastIndex = 0
  }
  return result
}

/**
 * Expands every variable of `all` in place, in order, as dotenv-expand's `expand({ parsed: all,
 * processEnv: all })` does, but putting values in as written (see above).
 * @throws {SSError} BAD_INPUT when a value's references do not settle ({@link EXPAND_BOUNDS})
 */
export function expandInPlace(all: Record<string, string>): void {
  const runningParsed: Record<string, string> = {}
  for (const key of Object.keys(all)) {
    const value = resolveEscapes(expandValue(key, all[key] as string, all, runningParsed))
    all[key] = value
    runningParsed[key] = value
  }
}
