import type { CAC } from 'cac'

/** Registers `sstash import` and `sstash export` (owned by the sstash-run / .env work). */
export function registerEnvCommands(cli: CAC): void {
  void cli
}
