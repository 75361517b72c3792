/**
 * Runs the command sstash-run was given, in one of two ways.
 *
 * **exec** (Node >= 22.15, where process.execve exists, and nothing is left to do after the
 * start, i.e. no `--mask`): this process becomes the command. It keeps our pid; its signals,
 * its exit status and its core dumps are its own; no Node process waits beside it. Before
 * replacing ourselves we check everything execve could fail on, because on Node 22 and 24 a
 * failed process.execve aborts the process (a stack trace and SIGABRT) instead of throwing:
 * the program is found on PATH by ./find-command.ts (126/127 as before), it must start with
 * `#!` and an interpreter that exists, or be a native executable, and the arguments and
 * environment must fit the kernel's limits. Anything else takes the spawn path, which reports
 * its own errors cleanly. SIGPIPE and SIGXFSZ, which Node ignores (and execve would pass on
 * ignored), are put back to their default first.
 *
 * **spawn** (Node 20, `--mask`, or a command the checks above send here), on node:child_process
 * rather than execa (whose import costs more than sstash-run's whole start-up):
 *   - stdin, stdout and stderr are inherited (with `mask`, stdout and stderr are pipes that this
 *     process filters, so the child no longer sees a terminal on them);
 *   - SIGINT, SIGTERM and SIGHUP sent to this process are forwarded to the child, and we keep
 *     waiting for it, so killing sstash-run with them leaves no orphan. SIGKILL cannot be caught:
 *     the child then lives on (reparented, as under any parent);
 *   - the child's exit code becomes ours; when it dies of a signal we re-raise that signal on
 *     ourselves, except for signals that would dump our core (which holds the decrypted stash)
 *     or that Node uses itself (SIGUSR1 starts the inspector): those exit 128+n, as a shell reports;
 *   - with `mask`, we stop reading the child's output shortly after it exits (see DRAIN_MS), so
 *     a background process that keeps the pipe open does not keep us waiting.
 */
import type { ChildProcess } from 'node:child_process'
import { readFileHead } from '../fs/read.js'
import { SSError, errno, ioError } from '../errors.js'
import { findCommand, shownCommand } from './find-command.js'

/** Signals forwarded to the child. */
export const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/** Signals we re-raise on ourselves; any other signal of the child gives exit code 128+n. */
const RERAISED = new Set<string>(['SIGHUP', 'SIGINT', 'SIGKILL', 'SIGTERM', 'SIGPIPE', 'SIGALRM', 'SIGUSR2', 'SIGVTALRM', 'SIGPROF', 'SIGIO', 'SIGPOLL', 'SIGPWR', 'SIGSTKFLT'])

/**
 * How long, after the child exits, we keep reading its masked output: what it wrote before
 * exiting is already in the pipe and takes microseconds to read; what a background process
 * writes later is not the command's output and must not keep sstash-run alive.
 */
export const DRAIN_MS = 100

/** Linux's limit on one argument or one `NAME=value` (MAX_ARG_STRLEN), less its NUL. */
const MAX_STRING_BYTES = 128 * 1024 - 1
/** The total the kernel accepts on every system (POSIX's smallest ARG_MAX); above it we spawn. */
const MAX_EXEC_BYTES = 128 * 1024

/** How the child ended. */
export type ChildExit = { code: number; signal?: undefined } | { code?: undefined; signal: NodeJS.Signals }

/** What {@link runCommand} needs. */
export interface RunOptions {
  /** The child's complete environment. */
  env: Record<string, string>
  /** Values to replace with `*****` in the child's stdout and stderr (turns on piping). */
  mask?: readonly string[]
  /** Become the command with process.execve where that is possible (see the module comment). */
  exec?: boolean
  /**
   * Signals this process was started with ignored ({@link takeIgnoredSignals}): we ignore them
   * too, never forward them, and the command starts with them ignored, as after a plain exec.
   */
  ignored?: readonly NodeJS.Signals[]
}

/**
 * The variable in which bin/sstash-run.cjs, a shell script for its first line, hands over the
 * `SigIgn` mask of /proc/self/status: Node resets every signal to its default before any of our
 * code runs (ResetSignalHandlers in node.cc), so only the launcher can see what `nohup` ignored.
 */
export const IGNORED_SIGNALS_VARIABLE = 'SSTASH_RUN_SIGIGN'

/** The signals a runner passes on ignored. SIGKILL and SIGSTOP cannot be ignored; an ignored SIGCHLD would change how the command waits for its own children. */
const PASSED_ON = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGPIPE', 'SIGALRM', 'SIGUSR2', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGXFSZ'] as const

/**
 * Takes the launcher's mask out of `env` (so the command never sees it) and returns the signals
 * it names that a runner passes on. An absent or malformed mask (macOS has no /proc; the binary
 * was started without its launcher) is no signal.
 */
export function takeIgnoredSignals(env: Record<string, string | undefined>): NodeJS.Signals[] {
  const mask = env[IGNORED_SIGNALS_VARIABLE]
  delete env[IGNORED_SIGNALS_VARIABLE]
  if (mask === undefined || !/^[0-9a-fA-F]{1,16}$/.test(mask)) return []
  const bits = BigInt(`0x${mask}`)
  if (bits === 0n) return []
  const { signals } = process.getBuiltinModule('node:os').constants
  return PASSED_ON.filter((signal) => ((bits >> BigInt((signals[signal] ?? 1) - 1)) & 1n) === 1n)
}

/** The command, or `/bin/sh` ignoring `ignored` and then becoming the command (an ignored signal stays ignored across exec). */
function withIgnored(file: string, command: string, args: readonly string[], ignored: readonly NodeJS.Signals[]): { file: string; command: string; args: readonly string[] } {
  if (ignored.length === 0) return { file, command, args }
  const names = ignored.map((signal) => signal.slice(3)).join(' ')
  return { file: '/bin/sh', command: 'sh', args: ['-c', `trap '' ${names}; exec "$0" "$@"`, file, ...args] }
}

/** The exit code a shell reports for death by `signal`: 128 + its number. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (process.getBuiltinModule('node:os').constants.signals[signal] ?? 0)
}

/**
 * Starts `command`: by execve when `options.exec` allows it and it is safe (then this call
 * never returns), else as a child whose signals are forwarded and whose end we wait for.
 * @param command - a program name looked up in the child's PATH, or a path
 * @param args - its arguments, passed untouched (never through a shell)
 * @returns how the child ended (spawn path only)
 * @throws {SSError} COMMAND_NOT_FOUND (exit 127), COMMAND_NOT_EXECUTABLE (exit 126), SPAWN_FAILED (exit 126)
 */
export async function runCommand(command: string, args: readonly string[], options: RunOptions): Promise<ChildExit> {
  // Windows has no execve, and its own PATH rules (PATHEXT, `;`): there spawn finds the program.
  const ignored = options.ignored ?? []
  const start = withIgnored(process.platform === 'win32' ? command : findCommand(command, options.env), command, args, ignored)
  const masking = options.mask !== undefined && options.mask.length > 0
  if (options.exec === true && !masking) execIfSafe(start.file, start.command, start.args, options.env, ignored)
  // Loaded only with --mask, to keep the common path's start-up small; before the spawn, so
  // that no event of the child can pass while we wait for the import. node:child_process too is
  // loaded only here, when we spawn: the exec path never needs it (3-9 ms of CPU to load).
  const mask = masking ? await import('./mask.js') : undefined
  const { spawn } = await import('node:child_process')
  let child: ChildProcess
  try {
    child = spawn(start.file, start.args, { argv0: start.command, env: options.env, stdio: masking ? ['inherit', 'pipe', 'pipe'] : 'inherit' })
  } catch (error) {
    // spawn throws at once for E2BIG, ENAMETOOLONG and the like (it reports ENOENT as an event).
    throw startError(command, error, options.env)
  }
  const forward = (signal: NodeJS.Signals): void => {
    // The child may already be gone; kill() then just returns false.
    child.kill(signal)
  }
  const ignore = (): void => {}
  const forwarded = FORWARDED_SIGNALS.filter((s) => !ignored.includes(s))
  for (const s of forwarded) process.on(s, forward)
  for (const s of ignored) process.on(s, ignore)
  try {
    const exited = waitForExit(child, command, options.env)
    if (!mask || !child.stdout || !child.stderr) return await exited
    const drained = mask.maskChildOutput(child.stdout, child.stderr, options.mask ?? [])
    const exit = await exited
    await drained.within(DRAIN_MS)
    return exit
  } finally {
    for (const s of forwarded) process.off(s, forward)
    for (const s of ignored) process.off(s, ignore)
  }
}

/** The error for a command that could not be started, in words, with a hint for E2BIG. */
function startError(command: string, error: unknown, env: Record<string, string>): SSError {
  const shown = shownCommand(command)
  const code = errno(error)
  if (code === 'ENOENT') return new SSError(`command not found: ${shown}`, 'COMMAND_NOT_FOUND', { cause: error })
  if (code === 'EACCES' || code === 'EISDIR' || code === 'ENOEXEC' || code === 'EPERM')
    return new SSError(`cannot execute ${shown}: permission denied or not a program`, 'COMMAND_NOT_EXECUTABLE', { cause: error })
  const failure = ioError('start', shown, error, 'SPAWN_FAILED')
  if (code !== 'E2BIG') return failure
  const largest = Object.entries(env).reduce((a, b) => (b[1].length > a[1].length ? b : a), ['', ''])
  return new SSError(failure.message, 'SPAWN_FAILED', {
    cause: error,
    hint: `the largest variable is ${largest[0]} (${Buffer.byteLength(largest[1])} bytes); Linux takes at most 128 KiB in one variable, and about 2 MiB in all`,
  })
}

function waitForExit(child: ChildProcess, command: string, env: Record<string, string>): Promise<ChildExit> {
  return new Promise((resolve, reject) => {
    child.once('error', (error) => reject(startError(command, error, env)))
    // 'exit', not 'close': a grandchild holding the output pipes open must not keep us waiting.
    child.once('exit', (code, signal) => {
      if (signal) resolve({ signal })
      else resolve({ code: code ?? 1 })
    })
  })
}

/**
 * True when `file` starts with `#!` and an interpreter that does too (at most `depth` deep, as
 * Linux follows), or with a native executable's magic number.
 */
function startsLikeAProgram(file: string, depth = 4): boolean {
  let head: Buffer
  try {
    head = Buffer.from(readFileHead(file, 256) ?? new Uint8Array(0))
  } catch {
    return false
  }
  const length = head.length
  if (length >= 2 && head[0] === 0x23 && head[1] === 0x21) {
    const end = head.subarray(0, length).indexOf(0x0a)
    if (end === -1 || depth === 0) return false
    const interpreter = head.subarray(2, end).toString('latin1').trim().split(/[ \t]/)[0] ?? ''
    if (!interpreter.startsWith('/')) return false
    try {
      return findCommand(interpreter, {}) === interpreter && startsLikeAProgram(interpreter, depth - 1)
    } catch {
      return false
    }
  }
  // ELF; Mach-O 32 and 64 bit in both byte orders; a universal (fat) Mach-O.
  return length >= 4 && [0x7f454c46, 0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe].includes(head.readUInt32BE(0))
}

/** True when the arguments and environment fit what execve takes everywhere. */
function fitsTheKernel(file: string, argv: readonly string[], env: Record<string, string>): boolean {
  let total = Buffer.byteLength(file) + 1
  for (const s of [...argv, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)]) {
    const bytes = Buffer.byteLength(s)
    if (bytes > MAX_STRING_BYTES) return false
    total += bytes + 1 + 8
  }
  return total <= MAX_EXEC_BYTES
}

/**
 * Replaces this process with the command when nothing can make execve fail; returns when it
 * cannot (then the caller spawns, which reports any failure as an error rather than an abort).
 */
function execIfSafe(file: string, command: string, args: readonly string[], env: Record<string, string>, ignored: readonly NodeJS.Signals[]): void {
  const execve = (process as { execve?: (file: string, args: string[], env: Record<string, string>) => never }).execve
  const argv = [command, ...args]
  if (typeof execve !== 'function' || !fitsTheKernel(file, argv, env) || !startsLikeAProgram(file)) return
  // Node ignores these two; an ignored signal stays ignored across execve. Adding a listener
  // and removing the last one makes libuv restore the default action.
  for (const signal of ['SIGPIPE', 'SIGXFSZ'] as const) {
    // One we were started with ignored stays so (the /bin/sh in front of the command ignores it again).
    if (ignored.includes(signal)) continue
    process.on(signal, () => {})
    process.removeAllListeners(signal)
  }
  // process.execve is experimental; its warning would be printed only if the call failed.
  const emitWarning = process.emitWarning
  process.emitWarning = () => {}
  // bin/run-bundle.cjs saves its code cache then, as it would at exit.
  ;(process as NodeJS.EventEmitter).emit('sstash:exec')
  try {
    execve.call(process, file, argv, env)
  } catch {
    // Node >= 26 throws instead of aborting: fall back to spawning.
  } finally {
    process.emitWarning = emitWarning
  }
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
