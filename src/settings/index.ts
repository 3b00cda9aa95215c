export { SETTINGS, type Setting, type SettingType, type Settings, type ConfigFile, type Section } from './table.js';
export {
  resolve,
  resolveAll,
  fromEnv,
  fromConfig,
  readConfigFile,
  findConfigFile,
  parseCommandLine,
  parseArgsOptions,
  defaults,
  defineConfig,
  helpText,
  printConfig,
  SettingError,
  CONFIG_NAMES,
  type Resolved,
  type CommandLine,
} from './resolve.js';
export { renderSettingsDoc } from './doc.js';
export { registerTypeScript } from './import-module.js';
