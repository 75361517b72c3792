/**
 * The variable names through which a value can make the child, or a program it starts, load or
 * run code of the value's choosing, or read its configuration from a place of the value's
 * choosing (which comes to the same: a config file names programs to run). sstash-run refuses
 * them unless each is allowed by name (`--allow NAME`); docs/RUN.md lists the families.
 *
 * Where a tool reads an open-ended set of names (git reads GIT_CONFIG_KEY_<n>, npm any
 * npm_config_<setting>, the loader any LD_*), the whole family is refused by its prefix, so
 * a name the tool adds next year is refused too. Where a prefix also covers names everyone
 * uses for plain configuration (NODE_ENV), those few are listed as exceptions. Where the
 * tool's names share a prefix with common application names (Go's GO* and GOOGLE_*), the
 * names are listed one by one. Names are compared upper-cased: npm reads npm_config_* in any
 * case, and Windows compares names without case.
 */
import { SECRET_ENV_VARS } from './secret-variables.js'

/** One family of refused names. */
export interface NameFamily {
  /** Who reads them, for messages: "git's GIT_* variables". */
  readonly label: string
  /** Why a value there can run code, in one sentence (docs/RUN.md's table). */
  readonly reason: string
  /** The manuals the names come from. */
  readonly source: string
  /** Every name starting with one of these (upper-cased) is refused. */
  readonly prefixes: readonly string[]
  /** These names are refused. */
  readonly names: readonly string[]
  /** Names a prefix covers that are plain configuration, not refused. */
  readonly except?: readonly string[]
}

/** The families of refused names, in the order docs/RUN.md lists them. */
export const DANGEROUS_FAMILIES: readonly NameFamily[] = [
  {
    label: "the dynamic loader's variables",
    reason: 'they load a library into every program, or point the C library at files it parses as code or tables',
    source: 'ld.so(8), dyld(1), glibc tunables, iconv(3), resolver(5)',
    prefixes: ['LD_', 'DYLD_', '_RLD'],
    names: ['LIBPATH', 'SHLIB_PATH', 'GCONV_PATH', 'GLIBC_TUNABLES', 'MALLOC_CHECK_', 'MALLOC_TRACE', 'HOSTALIASES', 'RES_OPTIONS', 'LOCALDOMAIN', 'NLSPATH', 'LOCPATH'],
  },
  {
    label: "the shells' start-up, prompt and search variables",
    reason:
      'a shell sources them as files (ENV, BASH_ENV, ZDOTDIR), runs them as commands (PROMPT_COMMAND), expands command substitutions in them at every prompt (PS1, RPROMPT under prompt_subst, MAILPATH), searches them for programs and functions, or writes its history to them',
    source: 'bash(1) Shell Variables, zshparam(1) and zshmisc(1) Prompt Expansion, dash(1), fish-doc Shell variables, ksh(1), oh-my-zsh',
    prefixes: ['BASH_', 'ZSH_', 'FISH_', '__FISH', 'DIRENV_', 'STARSHIP_'],
    names: [
      'PATH', 'CDPATH', 'ENV', 'SHELL', 'SHELLOPTS', 'BASHOPTS', 'IFS', 'PS0', 'PS1', 'PS2', 'PS3', 'PS4', 'PROMPT', 'PROMPT2', 'PROMPT3', 'PROMPT4',
      'PROMPT_COMMAND', 'RPROMPT', 'RPROMPT2', 'RPS1', 'RPS2', 'SPROMPT', 'PROMPT_EOL_MARK', 'ZDOTDIR', 'ZSH', 'FPATH', 'MODULE_PATH', 'INPUTRC',
      'MAIL', 'MAILPATH', 'HISTFILE', 'HOSTFILE', 'TMPPREFIX',
    ],
  },
  {
    label: 'the home and configuration directories every program reads its settings from',
    reason: "every program reads its configuration (git's, npm's, the shells') from below them",
    source: "XDG Base Directory Specification; every tool's FILES section",
    prefixes: ['XDG_'],
    names: ['HOME', 'USERPROFILE', 'APPDATA', 'LOCALAPPDATA'],
  },
  {
    label: "git's GIT_* variables",
    reason: 'GIT_CONFIG_* sets any configuration (core.fsmonitor, core.pager: commands), others name programs (GIT_SSH_COMMAND, GIT_EDITOR, GIT_EXTERNAL_DIFF) or directories git runs hooks from',
    source: 'git(1) ENVIRONMENT VARIABLES, git-config(1)',
    prefixes: ['GIT_'],
    names: [],
  },
  {
    label: 'the programs other programs start: editors, pagers, browsers, password prompts',
    reason: 'the value is a command line that git, kubectl, man, sudo, ssh, psql, crontab and many more run',
    source: 'environ(7), less(1), man(1), ssh(1), sudo(8), kubectl edit, gh help environment, vim(1), emacs(1), nvim(1)',
    prefixes: [],
    names: [
      'EDITOR', 'VISUAL', 'FCEDIT', 'PAGER', 'MANPAGER', 'MANOPT', 'MANPATH', 'LESS', 'LESSOPEN', 'LESSCLOSE', 'LESSKEY', 'LESSKEYIN', 'LESSKEY_SYSTEM',
      'LESSEDIT', 'LESSHISTFILE', 'BROWSER', 'SSH_ASKPASS', 'SSH_ASKPASS_REQUIRE', 'SUDO_ASKPASS', 'SUDO_EDITOR', 'SYSTEMD_PAGER', 'SYSTEMD_EDITOR',
      'SYSTEMD_LESS', 'KUBE_EDITOR', 'KUBECTL_EXTERNAL_DIFF', 'GH_EDITOR', 'GH_BROWSER', 'GH_PAGER', 'GH_CONFIG_DIR', 'GLAB_EDITOR', 'BAT_PAGER',
      'BAT_CONFIG_PATH', 'DELTA_PAGER', 'VIMINIT', 'GVIMINIT', 'EXINIT', 'MYVIMRC', 'VIMRUNTIME', 'VIM', 'NVIM_APPNAME', 'NVIM_LOG_FILE', 'EMACSLOADPATH',
      'EMACSDIR', 'DBUS_SESSION_BUS_ADDRESS',
    ],
  },
  {
    label: 'the other version control systems and remote shells',
    reason: 'they name the editor, merge tool or remote shell to run, or the configuration files (hgrc: hooks) to read',
    source: 'hg help environment, svn help, cvs(1), brz help env-variables, jj config, rsync(1)',
    prefixes: ['BRZ_', 'BZR_', 'JJ_'],
    names: ['HGRCPATH', 'HGEDITOR', 'HGMERGE', 'HGRCSKIPREPO', 'HGPLAINEXCEPT', 'SVN_EDITOR', 'SVN_MERGE', 'SVN_SSH', 'CVSEDITOR', 'CVS_RSH', 'CVS_SERVER', 'RSYNC_RSH', 'RSYNC_CONNECT_PROG'],
  },
  {
    label: "Node.js's and its package managers' variables",
    reason: 'NODE_OPTIONS=--require loads any file; npm reads any setting (script-shell, node-options, userconfig) from npm_config_*; the others choose registries, stores and binaries',
    source: 'node(1) Environment, npm-config(7), yarnrc, pnpm config, corepack, bun, deno',
    prefixes: ['NODE_', 'NPM_CONFIG_', 'YARN_', 'PNPM_', 'COREPACK_', 'BUN_', 'DENO_'],
    names: ['NPM_EXECPATH', 'NPM_NODE_EXECPATH', 'ELECTRON_RUN_AS_NODE'],
    except: ['NODE_ENV'],
  },
  {
    label: "Python's and its installers' variables",
    reason: 'PYTHONSTARTUP and PYTHONPATH run code; pip and uv install from the index and with the options they name',
    source: 'python(1) Environment variables, pip config, uv environment',
    prefixes: ['PYTHON', 'PIP_', 'UV_'],
    names: ['CONDARC'],
  },
  { label: "Perl's variables", reason: 'PERL5OPT and PERL5LIB load modules into every perl', source: 'perlrun(1) ENVIRONMENT', prefixes: ['PERL'], names: [] },
  {
    label: "Ruby's, RubyGems' and Bundler's variables",
    reason: 'RUBYOPT=-r loads a file; gems and Gemfiles are code',
    source: 'ruby(1) ENVIRONMENT, gem env, bundle config',
    prefixes: ['RUBY', 'GEM_', 'BUNDLE_'],
    names: ['GEMRC'],
  },
  {
    label: "Java's and its build tools' variables",
    reason: 'JAVA_TOOL_OPTIONS=-javaagent loads a jar; the build tools run their init scripts from their homes',
    source: 'java(1), Gradle and Maven environment',
    prefixes: ['JAVA_', '_JAVA_', 'JDK_', 'GRADLE_', 'MAVEN_'],
    names: ['CLASSPATH'],
  },
  {
    label: ".NET's variables",
    reason: 'DOTNET_STARTUP_HOOKS and the profiler variables load assemblies into every process',
    source: 'dotnet environment variables, CLR profiling',
    prefixes: ['DOTNET_', 'CORECLR_', 'COREHOST_', 'COMPLUS_'],
    names: ['ASPNETCORE_HOSTINGSTARTUPASSEMBLIES', 'NUGET_PACKAGES'],
    except: ['DOTNET_ENVIRONMENT'],
  },
  {
    label: "Go's toolchain variables",
    reason: 'they choose the toolchain, the module proxy and the C compiler flags go build runs',
    source: 'go help environment',
    prefixes: ['CGO_'],
    names: ['GOFLAGS', 'GOROOT', 'GOPATH', 'GOBIN', 'GOTOOLCHAIN', 'GOENV', 'GOPROXY', 'GONOPROXY', 'GOSUMDB', 'GONOSUMDB', 'GONOSUMCHECK', 'GOPRIVATE', 'GOINSECURE', 'GOAUTH', 'GOVCS', 'GOWORK', 'GOCACHE', 'GOCACHEPROG', 'GOMODCACHE', 'GOEXPERIMENT', 'GCCGO'],
  },
  {
    label: "Rust's toolchain variables",
    reason: 'RUSTC_WRAPPER runs a program in front of every compile; cargo reads any setting from CARGO_*',
    source: 'cargo environment variables, rustup',
    prefixes: ['CARGO_', 'RUSTUP_'],
    names: ['RUSTC', 'RUSTC_WRAPPER', 'RUSTC_WORKSPACE_WRAPPER', 'RUSTDOC', 'RUSTFLAGS', 'RUSTDOCFLAGS'],
  },
  {
    label: 'the start-up variables of PHP, Lua, R, Julia, Erlang, Tcl and Guile',
    reason: 'each names a file to run at start-up or a path to load libraries from',
    source: 'php.ini, lua(1), R Startup, julia environment, erl(1), tclsh(1), guile(1)',
    prefixes: ['LUA_', 'R_PROFILE', 'R_ENVIRON', 'R_LIBS', 'JULIA_', 'ERL_'],
    names: ['PHPRC', 'PHP_INI_SCAN_DIR', 'TCLLIBPATH', 'GUILE_LOAD_PATH', 'COMPOSER', 'COMPOSER_HOME'],
  },
  {
    label: 'the compilers and make, which npm, pip and go start to build native code',
    reason: 'they name the compiler, its flags and the libraries it links',
    source: 'make(1), gcc(1), pkg-config(1), cmake-env-variables(7)',
    prefixes: ['CMAKE_', 'PKG_CONFIG'],
    names: ['CC', 'CXX', 'CPP', 'LD', 'AR', 'AS', 'MAKE', 'CFLAGS', 'CXXFLAGS', 'CPPFLAGS', 'LDFLAGS', 'MAKEFLAGS', 'MFLAGS', 'GNUMAKEFLAGS', 'MAKEFILES'],
  },
  {
    label: 'the configuration files that name programs to run (credential helpers, plugins, engines)',
    reason:
      'the file they point to runs commands: kubeconfig exec plugins, AWS credential_process, Docker credential helpers, gpg.conf and gpg-agent.conf programs, Terraform provider installation, Helm plugins, the shell escapes of a psqlrc',
    source: 'kubectl config, AWS CLI configuration, docker config, gpg(1), terraform CLI configuration, helm env, psql(1), mysql(1), openssl-env(7), curl(1), wget(1)',
    prefixes: ['OPENSSL_', 'TF_CLI_', 'TF_PLUGIN_', 'PACKER_'],
    names: [
      'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'KUBECONFIG', 'KUBECACHEDIR', 'DOCKER_CONFIG', 'CONTAINERS_CONF', 'CURL_HOME', 'WGETRC',
      'GNUPGHOME', 'GPG_AGENT_INFO', 'TF_CLI_CONFIG_FILE', 'TERRAFORM_CONFIG', 'TF_DATA_DIR', 'TF_REATTACH_PROVIDERS', 'TF_LOG_PATH', 'HELM_PLUGINS',
      'HELM_CONFIG_HOME', 'HELM_DATA_HOME', 'HELM_CACHE_HOME', 'HELM_REPOSITORY_CONFIG', 'HELM_REGISTRY_CONFIG', 'CLOUDSDK_CONFIG', 'CLOUDSDK_PYTHON',
      'GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES', 'AZURE_CONFIG_DIR', 'PSQLRC', 'PSQL_HISTORY', 'PSQL_EDITOR', 'PSQL_PAGER', 'MYSQL_HOME',
      'MYSQL_HISTFILE', 'MYSQL_TEST_LOGIN_FILE', 'SQLITE_HISTORY', 'REDISCLI_HISTFILE', 'REDISCLI_RCFILE',
    ],
  },
  { label: "sstash's own variables", reason: 'they choose the stash and the password or identity that opens it', source: 'docs/CLI.md', prefixes: ['SSTASH_'], names: [...SECRET_ENV_VARS] },
]

/**
 * The family that refuses `name`, or undefined for a name any value may take.
 * @param name - a variable name, compared upper-cased
 */
export function dangerousFamily(name: string): NameFamily | undefined {
  const upper = name.toUpperCase()
  for (const family of DANGEROUS_FAMILIES) {
    if (family.except?.includes(upper)) return undefined
    if (family.names.includes(upper) || family.prefixes.some((p) => upper.startsWith(p))) return family
  }
  return undefined
}

/** True when `name` may only be injected with explicit permission (see {@link DANGEROUS_FAMILIES}). */
export function isDangerousName(name: string): boolean {
  return dangerousFamily(name) !== undefined
}
