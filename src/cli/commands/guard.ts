/**
 * `sstash guard install|scan|refresh`: the leak guard (docs/GUARD.md), each a short action over
 * src/guard. Findings go to stdout (FILE:LINE: key path, never a value); the summary and
 * warnings to stderr. A scan never opens the personal stash and never asks for anything.
 */
import type { CAC } from 'cac'
import { stashPath } from '../../locations.js'
import { resolveStashPath } from '../../fs/read.js'
import { isTeamStashFile } from '../../team/detect.js'
import { EXIT, UsageError } from '../exit.js'
import { printHint, printStatus, printWarning } from '../print.js'
import { optionText, type GlobalOptions } from '../stash-options.js'
import { readStdin } from '../stdin.js'
import { writeStdout } from '../stdout.js'
import { isTerminal } from '../terminal.js'

type Options = GlobalOptions & Record<string, unknown>

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

/** Fingerprints the stash the options name (asking its password as any command does). */
async function refresh(options: Options): Promise<void> {
  const path = stashPath(optionText(options.stash))
  const [{ openStash, requireStash }, { refreshSource }, { MIN_GUARD_LENGTH }] = await Promise.all([
    import('../../unlock/open.js'),
    import('../../guard/sources.js'),
    import('../../guard/forms.js'),
  ])
  requireStash(path)
  const stash = await openStash(path)
  const kind = isTeamStashFile(path) ? 'team' : 'personal'
  const source = await stash.view((tree) => refreshSource(stash.path, kind, tree))
  printStatus(`fingerprinted ${plural(source.values, 'value')} of ${stash.path}${source.short > 0 ? `; ${source.short} shorter than ${MIN_GUARD_LENGTH} characters left out` : ''}`)
}

/** `guard install`: the hooks, the key; fingerprints now when the agent holds the stash. */
async function install(options: Options): Promise<void> {
  const { hooksDir, installHooks, uninstallHooks } = await import('../../guard/hooks.js')
  const dir = hooksDir(process.cwd())
  if (options.uninstall === true) {
    for (const { hook, action } of uninstallHooks(dir)) if (action !== 'absent') printStatus(`${hook}: ${action === 'not ours' ? 'not written by sstash, left alone' : action}`)
    return
  }
  for (const { hook, action } of installHooks(dir))
    printStatus(`${hook}: ${action}${action === 'chained' ? ` (the hook that was there runs first, from ${hook}.sstash-chained)` : ''}`)
  const { loadKey, readSources, refreshSource } = await import('../../guard/sources.js')
  loadKey()
  if (readSources().length > 0) return
  const path = stashPath(optionText(options.stash))
  const { openWithAgent } = await import('../../unlock/open.js')
  const stash = isTeamStashFile(path) ? undefined : await openWithAgent(path)
  if (stash) {
    const source = await stash.view((tree) => refreshSource(stash.path, 'personal', tree))
    return printStatus(`fingerprinted ${plural(source.values, 'value')} of ${stash.path}`)
  }
  printWarning('no fingerprints yet: run `sstash guard refresh` once (it asks the password); every write keeps them up to date after that')
}

/** The fingerprints for a scan: those kept, and a team stash's read in memory when an identity is in the environment. */
async function fingerprintsFor(options: Options): Promise<import('../../guard/scan.js').GuardFingerprints> {
  const guard = await import('../../guard/scan.js')
  const path = stashPath(optionText(options.stash))
  const inMemory = isTeamStashFile(path) && Boolean(process.env.SSTASH_IDENTITY || process.env.SSTASH_IDENTITY_FILE)
  const real = inMemory ? resolveStashPath(path) : undefined
  const fingerprints = guard.keptFingerprints(process.env, real === undefined ? [] : [real])
  if (inMemory) {
    const { openTeamStash } = await import('../../unlock/open-team.js')
    const team = await openTeamStash(path)
    guard.addValues(fingerprints, await team.view((tree) => tree.entries([])))
  }
  return fingerprints
}

function progressLine(): ((commits: number, total: number, bytes: number) => void) | undefined {
  if (!isTerminal(2)) return undefined
  let last = 0
  return (commits, total, bytes) => {
    const now = Date.now()
    if (now - last < 200) return
    last = now
    process.stderr.write(`\rsstash: scanning history: ${commits}/${total} commits, ${(bytes / 1e6).toFixed(1)} MB`)
  }
}

async function scanCommand(args: string[], options: Options): Promise<number> {
  const { scan, prePushRevisions } = await import('../../guard/scan.js')
  const { formatFinding } = await import('../../guard/scanner.js')
  const { MIN_GUARD_LENGTH } = await import('../../guard/forms.js')
  const prePush = optionText(options.prePush)
  const modes = [options.staged === true, options.history === true, prePush !== undefined].filter(Boolean).length
  if (modes > 1) throw new UsageError('--staged, --history and --pre-push are different scans', 'give one of them')
  if (options.staged === true && args.length > 0) throw new UsageError('--staged scans the index, not paths', 'use `sstash guard scan PATH...` for files')
  if (options.history === true && (args.length > 1 || args[0]?.startsWith('-'))) throw new UsageError('--history takes one revision range', 'e.g. `sstash guard scan --history origin/main..HEAD`')
  const fingerprints = await fingerprintsFor(options)
  for (const warning of fingerprints.warnings) printWarning(warning)
  if (fingerprints.matcher.empty) {
    printWarning('no fingerprints to look for: run `sstash guard refresh` (or, in CI, set SSTASH_IDENTITY and --stash to the team stash)')
    return EXIT.OK
  }
  const cwd = process.cwd()
  const progress = progressLine()
  let report
  if (prePush !== undefined) {
    const input = Buffer.from(await readStdin()).toString('utf8')
    report = { findings: [], allowed: [], bytes: 0, files: 0, commits: 0 } as import('../../guard/scanner.js').ScanReport
    for (const revs of prePushRevisions(input, prePush)) {
      const part = await scan(fingerprints, { history: revs }, { cwd, progress })
      report.findings.push(...part.findings)
      report.allowed.push(...part.allowed)
      report.bytes += part.bytes
      report.commits += part.commits
      report.files += part.files
    }
  } else {
    const target = options.staged === true ? { staged: true as const } : options.history === true ? { history: [args[0] ?? 'HEAD'] } : { paths: args }
    report = await scan(fingerprints, target, { cwd, progress })
  }
  if (progress) process.stderr.write('\r\x1b[K')
  if (report.findings.length > 0) writeStdout(`${report.findings.map(formatFinding).join('\n')}\n`)
  for (const allowed of report.allowed) printStatus(`allowed: ${formatFinding(allowed)}`)
  const read = report.commits > 0 || options.history === true || prePush !== undefined ? `${plural(report.commits, 'commit')}, ` : ''
  const summary = `guard: ${plural(report.findings.length, 'value')} found, ${report.allowed.length} allowed; read ${read}${plural(report.files, 'file')}, ${(report.bytes / 1e6).toFixed(1)} MB; looked for ${plural(fingerprints.values, 'value')} of ${plural(fingerprints.stashes, 'stash')}`
  printStatus(`${summary}${fingerprints.short > 0 ? ` (${fingerprints.short} shorter than ${MIN_GUARD_LENGTH} characters not looked for)` : ''}`)
  if (report.findings.length === 0) return EXIT.OK
  printHint('remove each value (and rotate it if it was pushed), or mark a deliberate one with `sstash:allow` on its line or in .sstashguardignore')
  return EXIT.ERROR
}

async function guardCommand(action: string, args: string[], options: Options): Promise<number | void> {
  if (action === 'scan') return scanCommand(args, options)
  if (args.length > 0) throw new UsageError(`guard ${action} takes no arguments`, '`sstash guard --help` shows its usage')
  if (action === 'install') return install(options)
  if (action === 'refresh') return refresh(options)
  throw new UsageError(`unknown guard action ${JSON.stringify(action)}`, 'use `sstash guard install`, `sstash guard scan` or `sstash guard refresh`')
}

/** Registers `sstash guard`. */
export function registerGuardCommands(cli: CAC): void {
  cli
    .command('guard <action> [...args]', 'the leak guard: `install` git hooks, `scan` files, --staged or --history, `refresh` fingerprints')
    .option('--staged', 'scan: the staged changes (what the pre-commit hook runs)')
    .option('--history', 'scan: every commit of a revision range (default HEAD)')
    .option('--pre-push <remote>', 'scan: what git pushes, from the lines on stdin (what the pre-push hook runs)')
    .option('--uninstall', 'install: remove the hooks, putting back any hook they chained to')
    .example('  $ sstash guard install')
    .example('  $ sstash guard scan config/ .env.example')
    .example('  $ sstash guard scan --history origin/main..HEAD')
    .example('  $ sstash guard refresh')
    .action((action: string, args: string[], options: Options) => guardCommand(action, args, options))
}
