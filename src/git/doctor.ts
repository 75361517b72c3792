/**
 * `sstash doctor`'s git checks: plain text left behind, and how git's credential helpers are
 * set up. git asks every helper to store a credential that worked, so a `credential.helper
 * store` beside sstash writes each token back to ~/.git-credentials in plain text.
 */
import { gitCredentialStoreFiles } from '../locations.js'
import type { Finding } from '../finding.js'
import { READ_LIMITS, readRegularFile } from '../fs/read.js'
import { countGitCredentials } from './credentials-file.js'

type Env = Record<string, string | undefined>

/** One `credential.helper` (or `credential.<url>.helper`) line of git's configuration. */
interface HelperLine {
  /** Where git read it: `file:<path>`, `command line:`... */
  origin: string
  key: string
  value: string
}

/** The plaintext files git-credential-store reads: ~/.git-credentials and $XDG_CONFIG_HOME/git/credentials. */
export function plaintextCredentialFiles(env: Env = process.env): string[] {
  return gitCredentialStoreFiles(env)
}

function plaintextFindings(env: Env): Finding[] {
  const out: Finding[] = []
  for (const file of plaintextCredentialFiles(env)) {
    let what: string
    try {
      const bytes = readRegularFile(file, READ_LIMITS.import)
      // The passwords git-credential-store would use: not blank lines, nor lines that are no credential URL.
      const lines = bytes === undefined ? 0 : countGitCredentials(Buffer.from(bytes).toString('utf8'))
      if (lines === 0) continue
      what = `${file} holds ${lines} ${lines === 1 ? 'password' : 'passwords'} in plain text (git-credential-store's file)`
    } catch (error) {
      what = `${file} is there but cannot be read (${(error as Error).message}); git-credential-store keeps passwords in it in plain text`
    }
    out.push({ severity: 'warning', what, fix: `sstash import ${file} --format git-credentials --remove-source` })
  }
  return out
}

/** git's credential helper lines, in the order git reads them; undefined when git cannot be run. */
async function helperLines(env: Env): Promise<HelperLine[] | undefined> {
  const { execFile } = await import('node:child_process')
  const args = ['config', '--show-origin', '-z', '--get-regexp', '^credential\\.(.+\\.)?helper$']
  const output = await new Promise<string | undefined>((resolve) => {
    execFile('git', args, { env: env as NodeJS.ProcessEnv, encoding: 'utf8', timeout: 10_000 }, (error, stdout) => {
      // Exit status 1: no helper is configured at all.
      if (error && (error as { code?: unknown }).code !== 1) resolve(undefined)
      else resolve(stdout)
    })
  })
  if (output === undefined) return undefined
  const fields = output.split('\0')
  const lines: HelperLine[] = []
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const entry = fields[i + 1] as string
    const newline = entry.indexOf('\n')
    lines.push({ origin: fields[i] as string, key: newline < 0 ? entry : entry.slice(0, newline), value: newline < 0 ? '' : entry.slice(newline + 1) })
  }
  return lines
}

/** Which helper a `credential.helper` value runs, as git reads it: a name, a path or `!shell`. */
function helperKind(value: string): 'store' | 'sstash' | 'other' {
  const command = value.trim()
  const program = command.startsWith('!') ? command : (command.split(/\s+/)[0] ?? '')
  if (/sstash/.test(program)) return 'sstash'
  if (program === 'store' || /git-credential-store|credential-store(\s|$)/.test(program)) return 'store'
  return 'other'
}

/** The helpers git uses, per key: an empty value drops the ones read before it, as git does. */
function effectiveHelpers(lines: HelperLine[]): HelperLine[] {
  const used: HelperLine[] = []
  for (const line of lines) {
    if (line.value.trim() === '') {
      for (let i = used.length - 1; i >= 0; i--) if (used[i]?.key === line.key) used.splice(i, 1)
    } else used.push(line)
  }
  return used
}

const escapeRegExp = (text: string): string => text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')

function helperFindings(helpers: HelperLine[]): Finding[] {
  const out: Finding[] = []
  for (const helper of helpers.filter((line) => helperKind(line.value) === 'store')) {
    const file = helper.origin.startsWith('file:') ? helper.origin.slice('file:'.length) : undefined
    out.push({
      severity: 'warning',
      what: `${helper.key} is \`${helper.value}\`${file ? ` (in ${file})` : ''}: git asks every helper to store a password that worked, so each fetch writes it back in plain text`,
      fix: file ? `git config --file ${file} --unset-all ${helper.key} '^${escapeRegExp(helper.value)}$'` : `remove \`${helper.key}=${helper.value}\` from your git configuration`,
    })
  }
  if (!helpers.some((line) => helperKind(line.value) === 'sstash'))
    out.push({ severity: 'note', what: 'git does not use sstash for passwords (no credential.helper sstash)', fix: 'git config --global credential.helper sstash' })
  else out.push({ severity: 'ok', what: 'git asks sstash for passwords' })
  return out
}

/**
 * Checks what sstash cannot see from the stash: a plaintext credentials file still present,
 * `credential.helper store` configured, and git not configured to use sstash. Reads git's
 * configuration with `git config`, as git would in the current directory; changes nothing.
 * @param env - HOME, XDG_CONFIG_HOME and PATH (to find git), and git's own variables
 * @returns the findings, each with its fix
 */
export async function gitFindings(env: Env = process.env): Promise<Finding[]> {
  const findings = plaintextFindings(env)
  const lines = await helperLines(env)
  if (lines === undefined) return [...findings, { severity: 'note', what: 'git could not be run: its credential helpers were not checked' }]
  return [...findings, ...helperFindings(effectiveHelpers(lines))]
}
