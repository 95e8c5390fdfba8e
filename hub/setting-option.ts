// A declared hub setting as a command-line option, its help naming the variable too: the hub,
// `admin create` and the backup commands take the same flags.
import { Option } from 'commander';
import { HUB_SETTINGS, envName, type SettingDeclaration, type SettingKey } from './config.js';

export function settingOption(key: SettingKey): Option {
  const setting: SettingDeclaration = HUB_SETTINGS[key];
  if (!setting.flag) throw new Error(`hub setting ${key} has no flag`);
  return new Option(setting.flag, `${setting.meaning} (env ${envName(key)})`);
}
