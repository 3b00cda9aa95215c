export { SETTINGS, type Setting, type SettingType } from './table.js';
export { resolve, fromEnv, parseCommandLine, defaults, helpText, SettingError, type Settings } from './resolve.js';
