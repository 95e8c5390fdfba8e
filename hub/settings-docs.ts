// The hub settings as people read them: grouped for `boxfleet hub --help`, and as README's table
// (`npm run docs:settings` writes it between the markers; a test fails when it is stale).
import { SETTING_GROUPS, envName, settingEntries, type SettingDeclaration, type SettingGroup, type SettingKey } from './config.js';

const defaultOf = (setting: SettingDeclaration) => String((setting.schema as { default?: unknown }).default ?? '');

function grouped(): [SettingGroup, [SettingKey, SettingDeclaration][]][] {
  return (Object.keys(SETTING_GROUPS) as SettingGroup[]).map((group) => [group, settingEntries().filter(([, s]) => s.group === group)]);
}

/** `text` in lines of at most `width` characters, each after `indent`. */
function wrap(text: string, indent: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return [...lines, indent + line];
}

/** Every setting under its group's heading: flag, variable and default, then what it means; lines of at most 100 characters. */
export function settingsHelp(): string {
  const out = ['', 'Settings (a flag wins over its variable, which wins over the default):'];
  for (const [group, settings] of grouped()) {
    out.push('', `${SETTING_GROUPS[group]}:`);
    for (const [key, setting] of settings) {
      const fallback = defaultOf(setting);
      out.push(...wrap(`${setting.flag ? `${setting.flag}, ` : ''}${envName(key)} (default: ${fallback === '' ? 'empty' : fallback})`, '  ', 100));
      out.push(...wrap(setting.meaning, '      ', 100));
    }
  }
  return `${out.join('\n')}\n`;
}

export const SETTINGS_START = '<!-- settings:start -->';
export const SETTINGS_END = '<!-- settings:end -->';

const cell = (text: string) => text.replace(/\|/g, '\\|');
const code = (text: string) => `\`${cell(text)}\``;

/** README's markdown table of every setting, grouped. */
export function settingsTable(): string {
  const rows = ['| group | setting / variable | flag | default | meaning |', '|---|---|---|---|---|'];
  for (const [group, settings] of grouped()) {
    settings.forEach(([key, setting], index) => {
      const fallback = defaultOf(setting);
      rows.push(
        `| ${index === 0 ? `**${SETTING_GROUPS[group]}**` : ''} | ${code(key)}<br>${code(envName(key))} | ${setting.flag ? code(setting.flag) : ''} | ${
          fallback === '' ? '' : code(fallback)
        } | ${cell(setting.meaning)} |`,
      );
    });
  }
  return `${rows.join('\n')}\n`;
}

/** `readme` with the table between the markers replaced by the current one; throws when a marker is missing. */
export function withSettingsTable(readme: string): string {
  const start = readme.indexOf(SETTINGS_START);
  const end = readme.indexOf(SETTINGS_END);
  if (start < 0 || end < start) throw new Error(`README.md needs the markers ${SETTINGS_START} and ${SETTINGS_END}, in that order`);
  return `${readme.slice(0, start + SETTINGS_START.length)}\n${settingsTable()}${readme.slice(end)}`;
}
