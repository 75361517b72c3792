/**
 * `sstash direnv-hook`: the `use sstash` function for direnv, as `from_op` serves 1Password
 * users. direnv sources every `~/.config/direnv/lib/*.sh` before an .envrc, so the user saves
 * this once there; an .envrc then says `use sstash`. The variables come from `sstash export
 * --format shell` (values quoted for eval); the reference files are watched, so an edit reloads.
 */
import type { CAC } from 'cac'
import { writeStdout } from '../output.js'

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

/** Registers `sstash direnv-hook`. */
export function registerDirenvCommand(cli: CAC): void {
  cli.command('direnv-hook', 'print the `use sstash` function for direnv (save it in ~/.config/direnv/lib/)')
    .example('  $ mkdir -p ~/.config/direnv/lib && sstash direnv-hook > ~/.config/direnv/lib/use_sstash.sh')
    .example('  $ echo "use sstash" > .envrc && direnv allow')
    .action(() => writeStdout(USE_SSTASH))
}
