/** Whether the leak guard is on: one `stat`, shared by the write hook (active.ts) and the fingerprints (sources.ts). */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { guardDir } from '../locations.js'

type Env = Record<string, string | undefined>

/** True once `sstash guard install` or `sstash guard refresh` has made the guard's key. */
export const guardActive = (env: Env = process.env): boolean => existsSync(join(guardDir(env), 'key'))
