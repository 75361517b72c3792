/**
 * `sstash doctor [--json]`: the library's findings about the stash (src/store/doctor.ts), and
 * one about the project in the working directory: a plain `.env` beside its `.env.sstash`
 * that git does not ignore, one `git add .` away from being committed.
 * The severity words are colored on a terminal only (see ../terminal.ts's styler).
 */
import { existsSync, readdirSync } from 'node:fs'
import type { CAC } from 'cac'
import { join, resolve } from 'node:path'
import { stashPath } from '../../locations.js'
import type { Finding } from '../../finding.js'
import { EXIT } from '../exit.js'
import { writeJson } from '../print.js'
import { optionText, type GlobalOptions } from '../stash-options.js'
import { writeStdout } from '../stdout.js'
import { styler } from '../terminal.js'

/** How git sees a file: committed, ignored, neither, or not in a work tree at all. */
function gitStatusOf(dir: string, name: string): 'tracked' | 'ignored' | 'exposed' | 'no-git' {
  const git = (args: string[]): number | null => process.getBuiltinModule('node:child_process').spawnSync('git', args, { cwd: dir, stdio: 'ignore' }).status
  if (git(['rev-parse', '--is-inside-work-tree']) !== 0) return 'no-git'
  if (git(['ls-files', '--error-unmatch', '--', name]) === 0) return 'tracked'
  return git(['check-ignore', '-q', '--', name]) === 0 ? 'ignored' : 'exposed'
}

/**
 * The plain-text files beside reference files in `dir`: for each `.env*.sstash`, the same
 * name without `.sstash`, when it exists and git does not ignore it.
 * @returns the findings, none when there is nothing to say
 */
export function plainEnvFindings(dir: string): Finding[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  const findings: Finding[] = []
  for (const refs of names.filter((n) => /^\.env.*\.sstash$/.test(n)).sort()) {
    const plain = refs.slice(0, -'.sstash'.length)
    if (!existsSync(join(dir, plain))) continue
    const status = gitStatusOf(dir, plain)
    const path = join(dir, plain)
    if (status === 'tracked')
      findings.push({ severity: 'problem', what: `${path} (beside ${refs}) is committed to git: its values are in the repository's history`, fix: `git rm --cached ${plain} && echo ${plain} >> .gitignore, then rotate every secret it held` })
    else if (status === 'exposed')
      findings.push({ severity: 'warning', what: `${path} (beside ${refs}) is plain text and not ignored by git: \`git add .\` would commit it`, fix: `echo ${plain} >> .gitignore (or, once its values are in the stash, rm ${plain})` })
  }
  return findings
}

/** `sstash doctor`: prints the findings; exits 1 when any should be fixed. */
export async function doctorCommand(options: GlobalOptions & { json?: unknown }): Promise<number> {
  const path = stashPath(optionText(options.stash))
  const { diagnose } = await import('../../store/doctor.js')
  const findings = [...(await diagnose(path)), ...plainEnvFindings(resolve('.'))]
  const failed = findings.some((f) => f.severity === 'problem' || f.severity === 'warning')
  if (options.json === true) {
    writeJson({ stash: path, ok: !failed, findings: findings.map(({ severity, what, fix }) => ({ severity, what, fix: fix ?? null })) }, 2)
    return failed ? EXIT.ERROR : EXIT.OK
  }
  const style = styler(1)
  const color = { ok: 'green', note: 'dim', warning: 'yellow', problem: 'red' } as const
  const lines = [`stash: ${path}`]
  for (const finding of findings) {
    lines.push(`${style(color[finding.severity], `${finding.severity}:`)} ${finding.what}`)
    if (finding.fix) lines.push(`  fix: ${finding.fix}`)
  }
  writeStdout(`${lines.join('\n')}\n`)
  return failed ? EXIT.ERROR : EXIT.OK
}

/** `sstash doctor`. */
export function registerDoctorCommand(cli: CAC): void {
  cli.command('doctor', 'check permissions, key derivation, locks and PATH; say what to fix')
    .example('  $ sstash doctor')
    .option('--json', 'print JSON for programs: {stash, ok, findings: [{severity, what, fix}]}')
    .action((options: GlobalOptions & { json?: unknown }) => doctorCommand(options))
}
