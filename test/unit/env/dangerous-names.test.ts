import { describe, expect, it } from 'vitest'
import { DANGEROUS_FAMILIES, dangerousFamily, isDangerousName } from '../../../src/env/dangerous-names.js'
import { SECRET_ENV_VARS } from '../../../src/env/secret-variables.js'

// One row per family: names a value must not take without --allow, in the spellings tools read.
const REFUSED: [family: string, names: string[]][] = [
  ['the dynamic loader', ['LD_PRELOAD', 'LD_LIBRARY_PATH', 'LD_AUDIT', 'ld_preload', 'DYLD_INSERT_LIBRARIES', 'GCONV_PATH', 'GLIBC_TUNABLES', 'LD_NEW_NAME_NEXT_YEAR']],
  ['the shell', ['PATH', 'BASH_ENV', 'BASH_FUNC_ls%%', 'BASH_LOADABLES_PATH', 'ENV', 'SHELLOPTS', 'PS4', 'PROMPT_COMMAND', 'IFS', 'CDPATH', 'ZDOTDIR', 'SHELL']],
  ['home and configuration directories', ['HOME', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_CACHE_HOME', 'XDG_RUNTIME_DIR', 'USERPROFILE']],
  ['git', ['GIT_CONFIG_COUNT', 'GIT_CONFIG_KEY_0', 'GIT_CONFIG_VALUE_0', 'GIT_CONFIG_KEY_17', 'GIT_CONFIG_PARAMETERS', 'GIT_CONFIG_GLOBAL', 'GIT_EXTERNAL_DIFF', 'GIT_PAGER', 'GIT_EDITOR', 'GIT_SEQUENCE_EDITOR', 'GIT_PROXY_COMMAND', 'GIT_SSH', 'GIT_SSH_COMMAND', 'GIT_ASKPASS', 'GIT_DIR', 'GIT_WORK_TREE', 'GIT_TEMPLATE_DIR', 'GIT_EXEC_PATH', 'git_dir']],
  ['programs other programs start', ['PAGER', 'EDITOR', 'VISUAL', 'MANPAGER', 'LESSOPEN', 'BROWSER', 'SSH_ASKPASS', 'SUDO_ASKPASS', 'VIMINIT']],
  ['node and its package managers', ['NODE_OPTIONS', 'NODE_PATH', 'NODE_REPL_EXTERNAL_MODULE', 'NODE_EXTRA_CA_CERTS', 'NODE_TLS_REJECT_UNAUTHORIZED', 'NODE_COMPILE_CACHE', 'NPM_CONFIG_SCRIPT_SHELL', 'npm_config_script_shell', 'Npm_Config_Node_Options', 'npm_config_userconfig', 'YARN_YARN_PATH', 'YARN_RC_FILENAME', 'PNPM_HOME', 'COREPACK_NPM_REGISTRY', 'BUN_OPTIONS', 'DENO_DIR']],
  ['python', ['PYTHONPATH', 'PYTHONSTARTUP', 'PYTHONHOME', 'PYTHONWARNINGS', 'PYTHONBREAKPOINT', 'PYTHONINSPECT', 'PIP_INDEX_URL', 'UV_INDEX_URL']],
  ['perl', ['PERL5OPT', 'PERL5LIB', 'PERLLIB', 'PERL5DB', 'PERL_MM_OPT']],
  ['ruby', ['RUBYOPT', 'RUBYLIB', 'GEM_HOME', 'GEM_PATH', 'BUNDLE_GEMFILE', 'GEMRC']],
  ['java', ['JAVA_TOOL_OPTIONS', '_JAVA_OPTIONS', 'JDK_JAVA_OPTIONS', 'JAVA_HOME', 'CLASSPATH', 'GRADLE_USER_HOME', 'MAVEN_OPTS']],
  ['dotnet', ['DOTNET_STARTUP_HOOKS', 'DOTNET_ROOT', 'DOTNET_ADDITIONAL_DEPS', 'CORECLR_PROFILER_PATH', 'CORECLR_ENABLE_PROFILING', 'COMPlus_EnableDiagnostics', 'ASPNETCORE_HOSTINGSTARTUPASSEMBLIES']],
  ['go', ['GOFLAGS', 'GOROOT', 'GOPATH', 'GOTOOLCHAIN', 'GOPROXY', 'GONOSUMDB', 'GOAUTH', 'GOENV', 'CGO_CFLAGS', 'CGO_LDFLAGS']],
  ['rust', ['RUSTC_WRAPPER', 'RUSTFLAGS', 'CARGO_HOME', 'CARGO_BUILD_RUSTC_WRAPPER', 'RUSTUP_TOOLCHAIN']],
  ['php and lua', ['PHPRC', 'PHP_INI_SCAN_DIR', 'LUA_INIT', 'LUA_PATH']],
  ['compilers and make', ['CC', 'CXX', 'LD', 'CFLAGS', 'LDFLAGS', 'MAKEFLAGS', 'MAKEFILES']],
  ['configuration files that name programs', ['OPENSSL_CONF', 'OPENSSL_MODULES', 'AWS_CONFIG_FILE', 'KUBECONFIG', 'DOCKER_CONFIG', 'CURL_HOME']],
  ['sstash', [...SECRET_ENV_VARS, 'SSTASH_FILE', 'SSTASH_AGENT_TIMEOUT']],
]

// Names a .env holds every day: none of them may be refused.
const PLAIN = [
  'NODE_ENV', 'DOTNET_ENVIRONMENT', 'DATABASE_URL', 'REDIS_URL', 'PORT', 'HOST', 'DEBUG', 'LOG_LEVEL', 'TZ', 'LANG',
  'API_KEY', 'api-key', 'nextAuthSecret', 'NEXTAUTH_SECRET', 'NEXT_PUBLIC_API_URL', 'VITE_API_URL', 'SENTRY_DSN',
  'HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'NO_PROXY', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION',
  'GOOGLE_API_KEY', 'GOOGLE_APPLICATION_CREDENTIALS', 'GITHUB_TOKEN', 'GITLAB_TOKEN', 'GH_TOKEN', 'NPM_TOKEN',
  'STRIPE_SECRET_KEY', 'OLD_PATH', 'PATH_PREFIX', 'HOMEPAGE_URL', 'NODEJS_VERSION', 'RUST_LOG', 'RUST_BACKTRACE', 'GOOS',
]

describe('names that let a value run code', () => {
  it.each(REFUSED)('refuses the %s family by family, in any case', (_family, names) => {
    for (const name of names) expect(isDangerousName(name), name).toBe(true)
    for (const name of names) expect(isDangerousName(name.toLowerCase()), name.toLowerCase()).toBe(true)
  })

  it('leaves the names of everyday configuration alone', () => {
    for (const name of PLAIN) expect(dangerousFamily(name), name).toBeUndefined()
  })

  it('names the family in words, for messages and the docs', () => {
    expect(dangerousFamily('GIT_CONFIG_COUNT')?.label).toBe("git's GIT_* variables")
    for (const family of DANGEROUS_FAMILIES) expect(family.prefixes.length + family.names.length).toBeGreaterThan(0)
  })

  it('refuses every variable of the one list of password and identity variables', () => {
    for (const name of SECRET_ENV_VARS) expect(dangerousFamily(name)?.label).toBe("sstash's own variables")
  })
})

describe('docs/RUN.md', () => {
  it('lists every refused prefix and name, and every exception', async () => {
    const { readFileSync } = await import('node:fs')
    const doc = readFileSync(new URL('../../../docs/RUN.md', import.meta.url), 'utf8')
    for (const family of DANGEROUS_FAMILIES) {
      for (const prefix of family.prefixes) expect(doc, prefix).toContain(`\`${prefix}*\``)
      for (const name of family.names) if (!family.prefixes.some((p) => name.startsWith(p))) expect(doc, name).toContain(`\`${name}\``)
      for (const name of family.except ?? []) expect(doc, name).toContain(`\`${name}\``)
    }
  })
})
