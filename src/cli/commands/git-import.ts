/**
 * `sstash import --format git-credentials`: a `~/.git-credentials` file into the git helper's
 * layout. The good lines go in, the others are named by number (never by content), and on
 * request the plaintext source keeps only the lines that did not go in.
 */
import { unlinkSync } from 'node:fs'
import { ioError } from '../../errors.js'
import type { GitCredentialsImport } from '../../git/credentials-file.js'
import { READ_LIMITS, readRegularFile, resolveStashPath } from '../../fs/read.js'
import { formatKeyPath } from '../../tree/key-path.js'
import { EXIT, UsageError } from '../exit.js'
import { printHint, printStatus, printWarning } from '../print.js'
import { openFromOptions, type GlobalOptions } from '../stash-options.js'

/** Options of `sstash import` that this format reads. */
export interface GitImportOptions extends GlobalOptions {
  /** `--remove-source`: rewrite the file without the lines imported (remove it when none is left). */
  removeSource?: unknown
}

/**
 * Refuses `--remove-source` where it cannot apply, before anything is read or written.
 * @throws {UsageError} for stdin, or a format other than git-credentials
 */
export function checkRemoveSource(format: string, file: string, options: GitImportOptions): void {
  if (options.removeSource === undefined) return
  if (format !== 'git-credentials') throw new UsageError('--remove-source is for --format git-credentials', 'remove the file yourself once you have checked the import')
  if (file === '-') throw new UsageError('--remove-source needs a file, not stdin', 'give the file, e.g. `sstash import ~/.git-credentials --format git-credentials --remove-source`')
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

/**
 * Imports `input`, the content of `file`, below `base` (default: the git layout's prefix).
 * With `--remove-source`, the file is then rewritten atomically with only the lines that were
 * not imported, or removed when none is left: no imported password stays in plain text.
 * @returns the exit code: 1 when a line was left out (it is still only in the file)
 */
export async function importGitCredentialsFile(file: string, input: string, base: string[] | undefined, options: GitImportOptions): Promise<number> {
  const { importGitCredentials } = await import('../../git/credentials-file.js')
  const stash = await openFromOptions(options)
  const report = await stash.update((tree) => importGitCredentials(tree, input, base === undefined ? {} : { prefix: base }))
  const source = file === '-' ? 'stdin' : file
  for (const { line, why } of report.skipped) printWarning(`line ${line} of ${source}: ${why}; not imported`)
  const where = base === undefined ? 'the git layout' : formatKeyPath(base)
  const left = report.skipped.length
  printStatus(`imported ${plural(report.imported, 'credential')} into ${where}${left > 0 ? `; ${plural(left, 'line')} not imported` : ''}`)
  const status = left > 0 ? EXIT.ERROR : EXIT.OK
  if (file === '-') return status
  if (options.removeSource === undefined) {
    if (report.imported > 0) printHint(`${file} still holds these passwords in plain text: add --remove-source, or \`rm ${file}\``)
    return status
  }
  await removeImported(file, input, report)
  return status
}

/** Rewrites `file` without the lines `report` imported (atomically, 0600), or removes it when none is left. */
async function removeImported(file: string, input: string, report: GitCredentialsImport): Promise<void> {
  const { linesNotImported } = await import('../../git/credentials-file.js')
  const real = resolveStashPath(file)
  // git-credential-store may have written to it meanwhile: what it added must not be lost.
  const now = readRegularFile(real, READ_LIMITS.import)
  if (now === undefined || Buffer.from(now).toString('utf8') !== input) {
    printWarning(`kept ${file}: it changed during the import; run the import again`)
    return
  }
  const rest = linesNotImported(input, report)
  if (rest === '') {
    try {
      unlinkSync(real)
    } catch (error) {
      throw ioError('remove', file, error)
    }
    return printStatus(`removed ${file}`)
  }
  const { writeAtomic } = await import('../../fs/write.js')
  await writeAtomic(real, new TextEncoder().encode(rest))
  const kept = report.skipped.length
  printStatus(`rewrote ${file} without the imported lines: it keeps only the ${plural(kept, 'line')} not imported, in plain text`)
}
