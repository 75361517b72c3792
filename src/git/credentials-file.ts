/**
 * `~/.git-credentials` (git-credential-store's file): one `https://user:pass@host[:port][/path]`
 * URL per line, percent-encoded. Read line by line, never by content in messages: importing it
 * into the git layout, counting the passwords it holds (doctor), and what is left of it once
 * the imported lines are gone (`import --remove-source`).
 */
import type { Tree } from '../tree/tree.js'
import { credentialKey, storeCredential, type MapOptions } from './mapping.js'
import { parseCredentialUrl, type Credential } from './protocol.js'

/** One non-blank line of a git-credentials file: its number (1-based), and its URL or why it is none. */
interface CredentialLine {
  line: number
  url?: ReturnType<typeof parseCredentialUrl>
  problem?: string
}

/** The non-blank lines of a git-credentials file, each parsed (CR LF endings taken as LF). */
function credentialLines(text: string): CredentialLine[] {
  const out: CredentialLine[] = []
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (line.trim() === '') continue
    let url
    try {
      url = parseCredentialUrl(line)
    } catch {
      url = undefined
    }
    const problem = lineProblem(url)
    out.push(problem === undefined && url !== undefined ? { line: index + 1, url } : { line: index + 1, problem: problem ?? 'not a credential URL' })
  }
  return out
}

/**
 * How many passwords a git-credentials file holds, as git-credential-store reads it: the lines
 * that are credential URLs with a user and a password (not blank lines, comments or bad lines).
 * @param text - the file's content
 */
export function countGitCredentials(text: string): number {
  return credentialLines(text).filter((entry) => entry.problem === undefined).length
}

/**
 * What is left of a git-credentials file once the lines `report` imported are gone: the other
 * lines, byte for byte, in their order; '' when none is left.
 * @param text - the file's content, as imported
 * @param report - what {@link importGitCredentials} did with it
 */
export function linesNotImported(text: string, report: GitCredentialsImport): string {
  const kept = new Set(report.skipped.map((entry) => entry.line))
  const lines = text.split('\n')
  return lines
    .filter((_, index) => kept.has(index + 1))
    .map((line) => `${line}\n`)
    .join('')
}

/** What {@link importGitCredentials} did. */
export interface GitCredentialsImport {
  /** How many credentials the tree now holds from the file (stored, or held unchanged already). */
  imported: number
  /** The lines left out, with why: their numbers (1-based) and never their content. */
  skipped: { line: number; why: string }[]
}

/** Why a line of a git-credentials file cannot be imported, or undefined when it can. */
function lineProblem(url: ReturnType<typeof parseCredentialUrl> | undefined): string | undefined {
  if (url === undefined || /\s/.test(url.protocol)) return 'not a credential URL'
  if (url.host === '') return 'no host'
  if (url.username === undefined) return 'no user name'
  if (url.password === undefined) return 'no password'
  return undefined
}

/**
 * Imports a `~/.git-credentials` file (git-credential-store's format: one
 * `https://user:pass@host[:port][/path]` URL per line, percent-encoded) into the default
 * layout. Blank lines are skipped. A line that is not such a URL is left out and named, the
 * others are imported; of two lines for the same protocol, host, path and user the first is
 * kept, as git-credential-store answers with the first.
 * @param tree - the tree to write into
 * @param text - the file's content
 * @param options - the prefix
 * @returns how many were imported, and the lines left out
 */
export function importGitCredentials(tree: Tree, text: string, options: MapOptions = {}): GitCredentialsImport {
  const report: GitCredentialsImport = { imported: 0, skipped: [] }
  const seen = new Map<string, number>()
  for (const { line: number, url, problem } of credentialLines(text)) {
    const index = number - 1
    if (problem !== undefined || url === undefined) {
      report.skipped.push({ line: number, why: problem ?? 'not a credential URL' })
      continue
    }
    const credential: Credential = { ...url, wwwauth: [], capability: [], state: [] }
    const key = JSON.stringify(credentialKey(credential, options))
    const first = seen.get(key)
    if (first !== undefined) {
      report.skipped.push({ line: index + 1, why: `the same host and user as line ${first}, which git uses` })
      continue
    }
    seen.set(key, index + 1)
    storeCredential(tree, credential, options)
    report.imported++
  }
  return report
}
