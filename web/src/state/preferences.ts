import type { HourCycle, Settings, Theme } from './types';

/**
 * The settings that change how every screen looks: the theme and the hour cycle.
 *
 * The server keeps them per user (`GET/PUT /api/me/settings`) so they follow the user
 * across devices; this page keeps a copy in localStorage, read by the inline script in
 * index.html before the first paint, so a dark theme does not flash light on load.
 */

export const SETTINGS_KEY = 'parley.settings';
export const DEFAULT_SETTINGS: Settings = { theme: 'system', hour_cycle: 'auto' };

const THEMES: readonly Theme[] = ['light', 'dark', 'system'];
const HOUR_CYCLES: readonly HourCycle[] = ['auto', '12h', '24h'];

let hourCycle: HourCycle = 'auto';
let systemDark: MediaQueryList | null = null;

/** The copy kept on this device, or the defaults (anything unreadable is ignored). */
export function loadLocalSettings(storage: Pick<Storage, 'getItem'> | undefined = globalThis.localStorage): Settings {
  try {
    const raw = storage?.getItem(SETTINGS_KEY);
    const value = raw ? (JSON.parse(raw) as Partial<Settings>) : {};
    return {
      theme: THEMES.includes(value.theme as Theme) ? (value.theme as Theme) : DEFAULT_SETTINGS.theme,
      hour_cycle: HOUR_CYCLES.includes(value.hour_cycle as HourCycle) ? (value.hour_cycle as HourCycle) : DEFAULT_SETTINGS.hour_cycle,
    };
  } catch {
    return DEFAULT_SETTINGS;
  }
}

function dark(theme: Theme): boolean {
  if (theme !== 'system') return theme === 'dark';
  return globalThis.matchMedia?.('(prefers-color-scheme: dark)').matches ?? false;
}

function paint(theme: Theme): void {
  if (typeof document === 'undefined') return;
  const root = document.documentElement;
  const on = dark(theme);
  root.classList.toggle('dark', on);
  root.style.colorScheme = on ? 'dark' : 'light';
}

/** Apply at once (theme on <html>, hour cycle for `timeLabel`) and remember on this device. */
export function applySettings(settings: Settings, storage: Pick<Storage, 'setItem'> | undefined = globalThis.localStorage): void {
  hourCycle = settings.hour_cycle;
  paint(settings.theme);
  if (systemDark) systemDark.onchange = null;
  systemDark = null;
  if (settings.theme === 'system' && globalThis.matchMedia) {
    systemDark = globalThis.matchMedia('(prefers-color-scheme: dark)');
    systemDark.onchange = () => paint('system');
  }
  try {
    storage?.setItem(SETTINGS_KEY, JSON.stringify(settings));
  } catch {
    /* private mode: the server's copy still applies after sign-in */
  }
}

/** `Intl`'s hour cycle option for the current setting (undefined: the locale's own). */
export function hour12(): boolean | undefined {
  return hourCycle === 'auto' ? undefined : hourCycle === '12h';
}
