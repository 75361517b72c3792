/**
 * Runs the command sstash-run was given, and makes this process end the way the child ended.
 *
 * Built on node:child_process rather than execa: importing execa costs about 130 ms of start-up
 * on the machine we measured (node alone: 100 ms), which would more than double sstash-run's
 * own overhead, and we need none of its extras.
 *
 *   - stdin, stdout and stderr are inherited (with `mask`, stdout and stderr are pipes that this
 *     process filters, so the child no longer sees a terminal on them);
 *   - SIGINT, SIGTERM and SIGHUP sent to this process are forwarded to the child, and we keep
 *     waiting for it, so killing sstash-run with them leaves no orphan. SIGKILL cannot be caught:
 *     the child then lives on (reparented, as under any parent); it still gets SIGHUP when its
 *     terminal closes, and SIGINT from the terminal goes to the whole process group anyway;
 *   - the child's exit code becomes ours; when it dies of a signal we re-raise that signal on
 *     ourselves, except for signals that would dump our core (which holds the decrypted stash)
 *     or that Node uses itself (SIGUSR1 starts the inspector): those exit 128+n, as a shell reports;
 *   - a command that cannot be found exits 127 and one that cannot be executed 126.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { constants } from 'node:os'
import { SSError, ioError } from '../errors.js'

/** Signals forwarded to the child. */
export const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/** Signals we re-raise on ourselves; any other signal of the child gives exit code 128+n. */
const RERAISED = new Set<string>(['SIGHUP', 'SIGINT', 'SIGKILL', 'SIGTERM', 'SIGPIPE', 'SIGALRM', 'SIGUSR2', 'SIGVTALRM', 'SIGPROF', 'SIGIO', 'SIGPOLL', 'SIGPWR', 'SIGSTKFLT'])

/** How the child ended. */
export type ChildExit = { code: number; signal?: undefined } | { code?: undefined; signal: NodeJS.Signals }

/** What {@link runCommand} needs. */
export interface RunOptions {
  /** The child's complete environment. */
  env: Record<string, string>
  /** Values to replace with `*****` in the child's stdout and stderr (turns on piping). */
  mask?: readonly string[]
  /** The working directory (default: ours). */
  cwd?: string
}

/** The exit code a shell reports for death by `signal`: 128 + its number. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0)
}

/**
 * Starts `command`, forwards signals to it, and resolves when it has ended and its output
 * (when masked) has been written.
 * @param command - a program name looked up in the child's PATH, or a path
 * @param args - its arguments, passed untouched (never through a shell)
 * @returns how the child ended
 * @throws {SSError} COMMAND_NOT_FOUND (exit 127), COMMAND_NOT_EXECUTABLE (exit 126), SPAWN_FAILED
 */
export async function runCommand(command: string, args: readonly string[], options: RunOptions): Promise<ChildExit> {
  const masking = options.mask !== undefined && options.mask.length > 0
  // Loaded only with --mask, to keep the common path's start-up small; before the spawn, so
  // that no event of the child can pass while we wait for the import.
  const mask = masking ? await import('./mask.js') : undefined
  const child = spawn(command, args, {
    env: options.env,
    cwd: options.cwd,
    stdio: masking ? ['inherit', 'pipe', 'pipe'] : 'inherit',
  })
  const forward = (signal: NodeJS.Signals): void => {
    // The child may already be gone; kill() then just returns false.
    child.kill(signal)
  }
  for (const s of FORWARDED_SIGNALS) process.on(s, forward)
  try {
    const exited = waitForExit(child, command)
    if (mask) {
      if (child.stdout) mask.pipeThroughMask(child.stdout, process.stdout, options.mask ?? [])
      if (child.stderr) mask.pipeThroughMask(child.stderr, process.stderr, options.mask ?? [])
    }
    return await exited
  } finally {
    for (const s of FORWARDED_SIGNALS) process.off(s, forward)
  }
}

function waitForExit(child: ChildProcess, command: string): Promise<ChildExit> {
  return new Promise((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') reject(new SSError(`command not found: ${command}`, 'COMMAND_NOT_FOUND', { cause: error }))
      else if (error.code === 'EACCES' || error.code === 'EISDIR' || error.code === 'ENOEXEC')
        reject(new SSError(`cannot execute ${command}: permission denied or not a program`, 'COMMAND_NOT_EXECUTABLE', { cause: error }))
      else reject(ioError('start', command, error, 'SPAWN_FAILED'))
    })
    // 'close' waits for the piped output to be drained as well as for the exit.
    child.once('close', (code, signal) => {
      if (signal) resolve({ signal })
      else resolve({ code: code ?? 1 })
    })
  })
}

/**
 * Ends this process the way the child ended: exit code, or the same signal (see the module
 * comment for the signals that give 128+n instead).
 * @param exit - what {@link runCommand} returned
 * @returns the exit code to use when the signal was not re-raised or did not end us
 */
export function exitLikeChild(exit: ChildExit): number {
  if (exit.signal === undefined) return exit.code
  const signal = exit.signal
  if (RERAISED.has(signal)) {
    // Our own handlers would swallow it. Node ignores SIGPIPE from the start; adding a listener
    // and removing the last one makes libuv restore the default action for any signal.
    try {
      // SIGKILL cannot have a listener (and needs none).
      if (signal !== 'SIGKILL') process.on(signal, () => {})
      process.removeAllListeners(signal)
      process.kill(process.pid, signal)
    } catch {
      // Fall through to the exit code.
    }
  }
  return signalExitCode(signal)
}
