// Light or dark: the system's setting unless the admin (or portal user) picked one with the toggle,
// which this browser remembers. The colours themselves are CSS custom properties in page.css, keyed
// on <html data-theme>; what draws outside CSS (the charts' canvas) listens for THEME_CHANGED.
export type Theme = 'light' | 'dark';

const KEY = 'boxfleet.theme';
/** Sent on window whenever the theme in effect may have changed (toggle or system setting). */
export const THEME_CHANGED = 'bf-theme-changed';

const system = () => window.matchMedia('(prefers-color-scheme: dark)');

function stored(): Theme | null {
  const value = localStorage.getItem(KEY);
  return value === 'light' || value === 'dark' ? value : null;
}

export const currentTheme = (): Theme => stored() ?? (system().matches ? 'dark' : 'light');

function apply() {
  document.documentElement.dataset.theme = currentTheme();
  window.dispatchEvent(new Event(THEME_CHANGED));
}

/** Remembers the pick and applies it. */
export function setTheme(theme: Theme): void {
  localStorage.setItem(KEY, theme);
  apply();
}

/** Applies the theme at start and follows the system's setting while no pick is stored. */
export function followTheme(): void {
  apply();
  system().addEventListener('change', apply);
}
