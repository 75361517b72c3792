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

/** dotenv-expand's reference pattern. */
export const REFERENCE = /(?<!\\)\${([^{}]+)}|(?<!\\)\$([A-Za-z_][A-Za-z0-9_]*)/g
const OPERATOR = /(:\+|\+|:-|-)/
const resolveEscapes = (value: string): string => value.replace(/\\\$/g, '$')

function expandValue(value: string, processEnv: Record<string, string>, runningParsed: Record<string, string>): string {
  const env: Record<string, string | undefined> = { ...runningParsed, ...processEnv }
  const regex = new RegExp(REFERENCE.source, 'g')
  let result = value
  const seen = new Set<string>()
  for (let match = regex.exec(result); match !== null; match = regex.exec(result)) {
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
 */
export function expandInPlace(all: Record<string, string>): void {
  const runningParsed: Record<string, string> = {}
  for (const key of Object.keys(all)) {
    const value = resolveEscapes(expandValue(all[key] as string, all, runningParsed))
    all[key] = value
    runningParsed[key] = value
  }
}
