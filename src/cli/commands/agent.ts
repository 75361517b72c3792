import type { CAC } from 'cac'
import { agentLock, agentStatus, agentUnlock } from '../../agent/client.js'
import { DEFAULT_AGENT_TIMEOUT_MS, formatDuration, parseDuration } from '../../agent/duration.js'
import { resolveStashPath } from '../../fs/read.js'
import { stashPath } from '../../locations.js'
import { agentTimeoutFromEnv, openWithPassword, requireStash } from '../../unlock/open.js'
import { UsageError } from '../exit.js'
import { printStatus, writeJson } from '../print.js'
import { optionText, type GlobalOptions } from '../stash-options.js'
import { writeStdout } from '../stdout.js'
import { formatTime } from '../time.js'

/** The `--timeout` value: the option, else SSTASH_AGENT_TIMEOUT (unless it is `0`: off), else 15 minutes. */
function timeoutOf(option: unknown): number {
  if (option === undefined) return agentTimeoutFromEnv() ?? DEFAULT_AGENT_TIMEOUT_MS
  try {
    return parseDuration(String(option))
  } catch (error) {
    throw new UsageError(`--timeout: ${(error as Error).message}`, 'durations look like 90s, 15m, 2h or 1h30m')
  }
}

const when = (ms: number): string => `${formatTime(ms)} (in ${formatDuration(ms - Date.now())})`

/**
 * `sstash unlock`: asks the password (never from the agent), checks it by opening the stash,
 * and hands the derived key to the agent, starting one when none runs.
 */
export async function unlockCommand(options: GlobalOptions & { timeout?: unknown }): Promise<void> {
  const timeoutMs = timeoutOf(options.timeout)
  const path = stashPath(optionText(options.stash))
  requireStash(path)
  const { stash } = await openWithPassword(path)
  const expiresAt = await agentUnlock(stash.path, await stash.exportKey(), timeoutMs)
  printStatus(`unlocked ${stash.path} until ${when(expiresAt)}`)
}

/** `sstash lock [--all]`: makes the agent forget one stash, or all of them. */
export async function lockCommand(options: GlobalOptions & { all?: boolean }): Promise<void> {
  if (options.all) {
    const count = await agentLock(undefined)
    if (count > 0) printStatus(`locked ${count} ${count === 1 ? 'stash' : 'stashes'}`)
    return
  }
  const path = resolveStashPath(stashPath(optionText(options.stash)))
  if ((await agentLock(path)) > 0) printStatus(`locked ${path}`)
}

/**
 * `sstash agent stop`: the agent forgets every key and exits (an agent exits when it holds
 * none); waits, briefly, until its process is gone, so that a script can rely on it.
 */
async function agentStop(): Promise<void> {
  const status = await agentStatus()
  if (!status) return printStatus('no agent runs')
  await agentLock(undefined)
  const alive = (): boolean => {
    try {
      process.kill(status.pid, 0)
      return true
    } catch {
      return false
    }
  }
  for (let waited = 0; waited < 3_000 && alive(); waited += 50) await new Promise((done) => setTimeout(done, 50))
  printStatus(alive() ? `asked the agent (pid ${status.pid}) to stop; it holds no key now` : `stopped the agent (pid ${status.pid})`)
}

/** `sstash agent status [--json]`: what is unlocked and until when; never a secret. `sstash agent stop`. */
export async function agentCommand(action: string | undefined, options: { json?: boolean }): Promise<void> {
  if (action === 'stop') return agentStop()
  if (action !== 'status') throw new UsageError(`unknown agent command '${action ?? ''}'`, 'the agent commands are `sstash agent status` and `sstash agent stop`')
  const status = await agentStatus()
  if (options.json) {
    const entries = (status?.entries ?? []).map((entry) => ({
      path: entry.path,
      unlockedAt: new Date(entry.unlockedAt).toISOString(),
      expiresAt: new Date(entry.expiresAt).toISOString(),
    }))
    return writeJson(status ? { running: true, pid: status.pid, socket: status.socket, entries } : { running: false, entries })
  }
  if (!status) return writeStdout('agent: not running\n')
  const lines = [`agent: running, pid ${status.pid}, socket ${status.socket}`]
  if (status.entries.length === 0) lines.push('nothing unlocked')
  for (const entry of status.entries) lines.push(`${entry.path}\tunlocked until ${when(entry.expiresAt)}`)
  writeStdout(`${lines.join('\n')}\n`)
}

/** Registers `sstash unlock`, `sstash lock` and `sstash agent status`. */
export function registerAgentCommands(cli: CAC): void {
  cli
    .command('unlock', 'unlock the stash in the sstash agent for a while (default 15m, counted from now)')
    .option('--timeout <duration>', 'how long it stays unlocked: 90s, 15m, 2h (default: $SSTASH_AGENT_TIMEOUT, else 15m)')
    .example('  $ sstash unlock')
    .example('  $ sstash unlock --timeout 2h --stash ~/work.sstash')
    .action((options: GlobalOptions & { timeout?: unknown }) => unlockCommand(options))
  cli
    .command('lock', 'make the agent forget the stash')
    .option('--all', 'forget every stash (the agent then exits)')
    .example('  $ sstash lock')
    .example('  $ sstash lock --all')
    .action((options: GlobalOptions & { all?: boolean }) => lockCommand(options))
  cli
    .command('agent [action]', '`sstash agent status`: what is unlocked, and until when (no secrets); `sstash agent stop`')
    .option('--json', 'print the status as JSON')
    .example('  $ sstash agent status')
    .example('  $ sstash agent stop')
    .action((action: string | undefined, options: { json?: boolean }) => agentCommand(action, options))
}

