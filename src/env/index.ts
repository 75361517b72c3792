/**
 * `sstash/env`: variables from key paths, the refused names, `.env` parsing and export, reference
 * files and templates, and sstash-run's selection as one call.
 * @module sstash/env
 */
export { envFromSelections, childEnv, type EnvVar, type EnvOptions, type SelectedSubtree } from './naming.js'
export { DANGEROUS_FAMILIES, isDangerousName, dangerousFamily, type NameFamily } from './dangerous-names.js'
export { type SelectOptions, type SelectedEnvironment } from './select.js'
export { type Selection } from './selection.js'
export { selectEnvironment } from '../unlock/select-environment.js'
export { findProjectConfig, type ProjectConfig, type FoundConfig, type ConfigLookup } from './project-config.js'
export { parseDotenv, formatDotenv, formatEnv, EXPORT_FORMATS, type ExportFormat } from './dotenv.js'
export {
  parseReferenceFile,
  parseReferenceFiles,
  mergeReferenceFiles,
  formatReferenceFile,
  SSReferenceError,
  type FileEntry,
  type ReferenceFile,
  type ReferenceProblem,
} from './references.js'
export { resolveReferences, type ResolvedVar, type KeyReader } from './reference-resolve.js'
export { readReferenceFiles } from './reference-files.js'
export { runCommand, type RunOptions, type ChildExit } from './runner.js'
export { importDotenv, type DotenvImportOptions, type DotenvImport } from './dotenv-import.js'
export { parseTemplate, renderTemplate, templateKeys, type Template, type Placeholder } from './template.js'
