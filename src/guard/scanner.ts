/**
 * Turns the matcher's byte ranges into findings a person can act on: the file (and commit),
 * the line, the key path and the spelling, never the value. Findings on a line holding
 * `sstash:allow`, and in files `.sstashguardignore` names, are kept apart as allowed, so the
 * summary lists every exception.
 */
import type { Matcher } from './matcher.js'
import { ignoredBy, type IgnoreRules } from './ignore.js'

/** The inline marker of a deliberate exception. */
export const ALLOW_MARKER = 'sstash:allow'
const ALLOW_BYTES = Buffer.from(ALLOW_MARKER)

/** A value found: where, and whose. */
export interface Finding {
  /** The commit (full id) for a history scan. */
  commit?: string
  file: string
  line: number
  /** The key path, as `sstash ls` spells it. */
  key: string
  encoding: string
  /** Why it is allowed: `sstash:allow`, or the ignore pattern. */
  allowed?: string
}

/** What a scan found and read. */
export interface ScanReport {
  findings: Finding[]
  allowed: Finding[]
  bytes: number
  files: number
  commits: number
}

/** Collects findings over many texts, once per (commit, file, line, key path). */
export class Scanner {
  readonly report: ScanReport = { findings: [], allowed: [], bytes: 0, files: 0, commits: 0 }
  readonly #matcher: Matcher
  readonly #ignore: IgnoreRules | undefined
  readonly #seen = new Set<string>()
  readonly #files = new Set<string>()

  /**
   * @param ignore - the rules of `.sstashguardignore`, matched against the file names given to
   *   {@link scan} (relative to the ignore file's folder)
   */
  constructor(matcher: Matcher, ignore?: IgnoreRules) {
    this.#matcher = matcher
    this.#ignore = ignore
  }

  /**
   * Scans `text`, the content of `file` from line `firstLine` on.
   * @param shown - the name to print, when it differs from the one the ignore rules see
   */
  scan(file: string, firstLine: number, text: Buffer, commit?: string, shown = file): void {
    this.report.bytes += text.length
    const id = `${commit ?? ''}\0${file}`
    if (!this.#files.has(id)) {
      this.#files.add(id)
      this.report.files++
    }
    const matches = this.#matcher.find(text)
    if (matches.length === 0) return
    const ignoredAs = this.#ignore ? ignoredBy(this.#ignore, file) : undefined
    let line = firstLine
    let counted = 0
    for (const match of matches) {
      for (let nl = text.indexOf(10, counted); nl >= 0 && nl < match.start; nl = text.indexOf(10, counted)) {
        line++
        counted = nl + 1
      }
      const key = `${commit ?? ''}\0${file}\0${line}\0${match.path}`
      if (this.#seen.has(key)) continue
      this.#seen.add(key)
      const finding: Finding = { ...(commit === undefined ? {} : { commit }), file: shown, line, key: match.path, encoding: match.encoding }
      const allowed = ignoredAs ?? (allowedInline(text, match.start, match.end) ? ALLOW_MARKER : undefined)
      if (allowed === undefined) this.report.findings.push(finding)
      else this.report.allowed.push({ ...finding, allowed })
    }
  }
}

/** True when a line the match touches holds the inline marker. */
function allowedInline(text: Buffer, start: number, end: number): boolean {
  // lastIndexOf with a negative offset would count from the end.
  const from = start === 0 ? 0 : text.lastIndexOf(10, start - 1) + 1
  const newline = text.indexOf(10, Math.max(end - 1, start))
  const to = newline < 0 ? text.length : newline
  return text.subarray(from, to).includes(ALLOW_BYTES)
}

// A committed file name can hold a newline or a terminal escape: printed raw, it could forge
// or hide report lines.
const printable = (text: string): string => text.replace(/[\x00-\x1f\x7f\x9b]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)

/** A finding as printed: `FILE:LINE: KEY (ENCODING)`, with the commit first for history; control characters as `\xHH`. */
export function formatFinding(finding: Finding): string {
  const where = `${finding.commit === undefined ? '' : `${finding.commit.slice(0, 12)}:`}${printable(finding.file)}:${finding.line}`
  const how = finding.encoding === 'plain' ? '' : ` (${finding.encoding})`
  return `${where}: ${printable(finding.key)}${how}${finding.allowed === undefined ? '' : ` allowed by ${printable(finding.allowed)}`}`
}
