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
import { SECRET_ENV_VARS } from '../unlock/secret-variables.js'

/** One family of refused names. */
export interface NameFamily {
  /** Who reads them, for messages: "git's GIT_* variables". */
  readonly label: string
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
    prefixes: ['LD_', 'DYLD_', '_RLD'],
    names: ['LIBPATH', 'SHLIB_PATH', 'GCONV_PATH', 'GLIBC_TUNABLES', 'MALLOC_CHECK_', 'MALLOC_TRACE', 'HOSTALIASES', 'RES_OPTIONS', 'LOCALDOMAIN', 'NLSPATH', 'LOCPATH'],
  },
  {
    label: "the shell's start-up and search variables",
    prefixes: ['BASH_'],
    names: ['PATH', 'CDPATH', 'ENV', 'SHELL', 'SHELLOPTS', 'BASHOPTS', 'IFS', 'PS0', 'PS1', 'PS2', 'PS3', 'PS4', 'PROMPT', 'PROMPT_COMMAND', 'ZDOTDIR', 'FPATH', 'INPUTRC'],
  },
  {
    label: 'the home and configuration directories every program reads its settings from',
    prefixes: ['XDG_'],
    names: ['HOME', 'USERPROFILE', 'APPDATA', 'LOCALAPPDATA'],
  },
  {
    label: "git's GIT_* variables",
    prefixes: ['GIT_'],
    names: [],
  },
  {
    label: 'the programs other programs start: editors, pagers, browsers, password prompts',
    prefixes: [],
    names: ['EDITOR', 'VISUAL', 'FCEDIT', 'PAGER', 'MANPAGER', 'LESS', 'LESSOPEN', 'LESSCLOSE', 'LESSKEY', 'LESSKEYIN', 'BROWSER', 'SSH_ASKPASS', 'SSH_ASKPASS_REQUIRE', 'SUDO_ASKPASS', 'SUDO_EDITOR', 'SYSTEMD_PAGER', 'SYSTEMD_EDITOR', 'VIMINIT', 'GVIMINIT', 'EXINIT', 'MYVIMRC', 'VIMRUNTIME', 'DBUS_SESSION_BUS_ADDRESS'],
  },
  {
    label: "Node.js's and its package managers' variables",
    prefixes: ['NODE_', 'NPM_CONFIG_', 'YARN_', 'PNPM_', 'COREPACK_', 'BUN_', 'DENO_'],
    names: [],
    except: ['NODE_ENV'],
  },
  {
    label: "Python's and its installers' variables",
    prefixes: ['PYTHON', 'PIP_', 'UV_'],
    names: [],
  },
  { label: "Perl's variables", prefixes: ['PERL'], names: [] },
  { label: "Ruby's, RubyGems' and Bundler's variables", prefixes: ['RUBY', 'GEM_', 'BUNDLE_'], names: ['GEMRC'] },
  {
    label: "Java's and its build tools' variables",
    prefixes: ['JAVA_', '_JAVA_', 'JDK_', 'GRADLE_', 'MAVEN_'],
    names: ['CLASSPATH'],
  },
  {
    label: ".NET's variables",
    prefixes: ['DOTNET_', 'CORECLR_', 'COREHOST_', 'COMPLUS_'],
    names: ['ASPNETCORE_HOSTINGSTARTUPASSEMBLIES'],
    except: ['DOTNET_ENVIRONMENT'],
  },
  {
    label: "Go's toolchain variables",
    prefixes: ['CGO_'],
    names: ['GOFLAGS', 'GOROOT', 'GOPATH', 'GOBIN', 'GOTOOLCHAIN', 'GOENV', 'GOPROXY', 'GONOPROXY', 'GOSUMDB', 'GONOSUMDB', 'GONOSUMCHECK', 'GOPRIVATE', 'GOINSECURE', 'GOAUTH', 'GOVCS', 'GOWORK', 'GOCACHE', 'GOCACHEPROG', 'GOMODCACHE', 'GOEXPERIMENT', 'GCCGO'],
  },
  {
    label: "Rust's toolchain variables",
    prefixes: ['CARGO_', 'RUSTUP_'],
    names: ['RUSTC', 'RUSTC_WRAPPER', 'RUSTC_WORKSPACE_WRAPPER', 'RUSTDOC', 'RUSTFLAGS', 'RUSTDOCFLAGS'],
  },
  { label: "PHP's and Lua's start-up variables", prefixes: ['LUA_'], names: ['PHPRC', 'PHP_INI_SCAN_DIR'] },
  {
    label: 'the compilers and make, which npm, pip and go start to build native code',
    prefixes: ['CMAKE_'],
    names: ['CC', 'CXX', 'CPP', 'LD', 'AR', 'AS', 'MAKE', 'CFLAGS', 'CXXFLAGS', 'CPPFLAGS', 'LDFLAGS', 'MAKEFLAGS', 'MFLAGS', 'GNUMAKEFLAGS', 'MAKEFILES'],
  },
  {
    label: 'the configuration files that name programs to run (OpenSSL engines, credential helpers)',
    prefixes: ['OPENSSL_'],
    names: ['AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'KUBECONFIG', 'DOCKER_CONFIG', 'CURL_HOME', 'WGETRC'],
  },
  { label: "sstash's own variables", prefixes: ['SSTASH_'], names: [...SECRET_ENV_VARS] },
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
