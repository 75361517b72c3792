/**
 * `.sstashguardignore`: the files whose findings are deliberate, in the subset of gitignore's
 * syntax people write: `#` comments, blank lines, `!` to re-include, a leading `/` (or a `/`
 * inside) to anchor a pattern at the file's folder, a trailing `/` for folders and what they
 * hold, `*` and `?` (not matching `/`), `**` (any number of folders) and `[...]` classes, and
 * `\` escaping the next character. As in git, the last matching pattern wins. Pure.
 */

/** One pattern of the file, compiled. */
interface Rule {
  pattern: string
  negated: boolean
  regex: RegExp
}

/** The patterns of one ignore file. */
export interface IgnoreRules {
  rules: Rule[]
}

function globToRegex(glob: string): string {
  let out = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string
    if (c === '\\' && i + 1 < glob.length) {
      out += (glob[++i] as string).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
    } else if (c === '*') {
      if (glob[i + 1] === '*') {
        // `**/` matches zero or more folders; a `**` elsewhere matches anything.
        if (glob[i + 2] === '/') {
          out += '(?:.*/)?'
          i += 2
        } else {
          out += '.*'
          i += 1
        }
      } else out += '[^/]*'
    } else if (c === '?') out += '[^/]'
    else if (c === '[') {
      const close = glob.indexOf(']', i + 2)
      if (close < 0) out += '\\['
      else {
        const body = glob.slice(i + 1, close).replace(/\\/g, '\\\\')
        out += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`
        i = close
      }
    } else out += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
  }
  return out
}

/**
 * Compiles the text of an ignore file. A pattern that cannot be compiled is left out rather
 * than failing the scan.
 */
export function parseIgnore(text: string): IgnoreRules {
  const rules: Rule[] = []
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.replace(/(?<!\\)\s+$/, '')
    if (line === '' || line.startsWith('#')) continue
    const negated = line.startsWith('!')
    if (negated) line = line.slice(1)
    if (line.startsWith('\\#') || line.startsWith('\\!')) line = line.slice(1)
    const folder = line.endsWith('/')
    if (folder) line = line.slice(0, -1)
    const anchored = line.includes('/')
    if (line.startsWith('/')) line = line.slice(1)
    if (line === '') continue
    // A folder pattern matches everything below it; any pattern also matches below a folder it names.
    const body = `${anchored ? '' : '(?:.*/)?'}${globToRegex(line)}`
    try {
      rules.push({ pattern: raw.trim(), negated, regex: new RegExp(`^${body}${folder ? '/.*' : '(?:/.*)?'}$`, 's') })
    } catch {
      continue
    }
  }
  return { rules }
}

/**
 * The pattern that ignores `path` (relative to the ignore file's folder, `/`-separated), or
 * undefined when the file is not ignored.
 */
export function ignoredBy(rules: IgnoreRules, path: string): string | undefined {
  let verdict: string | undefined
  for (const rule of rules.rules) if (rule.regex.test(path)) verdict = rule.negated ? undefined : rule.pattern
  return verdict
}
