/**
 * The environment variables that carry a stash password or an identity. This list is the one
 * source of truth: sstash-run removes them from the child's environment, the agent starts
 * without them, and a stash value is injected under one of these names only when the user
 * allows that name (`--allow SSTASH_PASSWORD`, to hand a command the password of another stash:
 * ./dangerous-names.ts refuses it otherwise).
 */
export const SECRET_ENV_VARS = [
  'SSTASH_PASSWORD',
  'SSTASH_PASSWORD_FILE',
  'SSTASH_ASKPASS',
  'SSTASH_NEW_PASSWORD',
  'SSTASH_NEW_PASSWORD_FILE',
  'SSTASH_IDENTITY',
  'SSTASH_IDENTITY_FILE',
] as const

/** `env` without the variables of {@link SECRET_ENV_VARS} (and without unset ones). */
export function withoutSecrets(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>
  const secret = new Set<string>(SECRET_ENV_VARS)
  for (const [name, value] of Object.entries(env)) if (value !== undefined && !secret.has(name)) out[name] = value
  return out
}
