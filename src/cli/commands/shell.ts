/**
 * The shell integrations: `sstash completion <shell>` (the script is made by ./completion.ts,
 * loaded only when asked) and `sstash direnv-hook`, the `use sstash` function for direnv, as `from_op` serves 1Password
 * users. direnv sources every `~/.config/direnv/lib/*.sh` before an .envrc, so the user saves
 * this once there; an .envrc then says `use sstash`. The variables come from `sstash export
 * --format shell` (values quoted for eval); the reference files are watched, so an edit reloads.
 */
import type { CAC } from 'cac'
import { writeStdout } from '../stdout.js'

/** The shell function, for bash (direnv runs .envrc files in bash). */
export const USE_SSTASH = `# use sstash: the variables of reference files (default .env.sstash), or of a key path, from
# sstash, in an .envrc. Saved by: sstash direnv-hook > ~/.config/direnv/lib/use_sstash.sh
#   use sstash                        # .env.sstash
#   use sstash .env.sstash .env.local.sstash
#   use sstash -k project/myapp       # a subtree, as sstash-run -k names it
use_sstash() {
  local -a args=()
  local key= out
  [ "$#" -eq 0 ] && set -- .env.sstash
  while [ "$#" -gt 0 ]; do
    case "$1" in
      -k | --key)
        if [ "$#" -lt 2 ]; then log_error "use sstash: $1 needs a key path"; return 1; fi
        key=$2
        shift 2 ;;
      *)
        watch_file "$1"
        args+=(--env-file "$1")
        shift ;;
    esac
  done
  [ -n "$key" ] && args+=(-- "$key")
  if ! out=$(sstash export --format shell "\${args[@]}"); then
    log_error "use sstash: nothing loaded (sstash said why above)"
    return 1
  fi
  eval "$out"
}
`

/**
 * The completion script's question, `sstash [--stash <path>] __complete-keys <word>`, kept out
 * of the command table and its help.
 * @returns its answer, or undefined for any other command line
 */
export function completionQuestion(argv: readonly string[]): Promise<void> | undefined {
  const asked = argv.indexOf('__complete-keys')
  if (asked !== 0 && !(asked === 2 && argv[0] === '--stash')) return undefined
  return import('./completion.js').then(({ completeKeys }) => completeKeys(argv.filter((_, i) => i !== asked)))
}

/** Registers `sstash completion` and `sstash direnv-hook`. */
export function registerShellCommands(cli: CAC): void {
  cli.command('completion <shell>', 'print the completion script for bash, zsh or fish')
    .example('  $ eval "$(sstash completion bash)"        # in ~/.bashrc')
    .example('  $ sstash completion fish | source          # in ~/.config/fish/config.fish')
    .action(async (shell: string) => (await import('./completion.js')).completionCommand(cli, shell))

  cli.command('direnv-hook', 'print the `use sstash` function for direnv (save it in ~/.config/direnv/lib/)')
    .example('  $ mkdir -p ~/.config/direnv/lib && sstash direnv-hook > ~/.config/direnv/lib/use_sstash.sh')
    .example('  $ echo "use sstash" > .envrc && direnv allow')
    .action(() => writeStdout(USE_SSTASH))
}
