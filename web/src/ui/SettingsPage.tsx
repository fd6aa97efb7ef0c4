import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { ApiError } from '../state/api';
import { timeLabel } from '../state/format';
import type { HourCycle, Settings, Theme } from '../state/types';
import { AccountSettings } from './AccountSettings';
import { IconBack } from './icons';
import { NotificationSettings } from './NotificationSettings';
import { Section } from './Section';
import { navigate, useChat, useSession } from './hooks';

const primary =
  'inline-flex items-center justify-center gap-2 rounded-lg bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white shadow-sm hover:bg-indigo-500 disabled:cursor-not-allowed disabled:opacity-50';
const field =
  'block w-full rounded-lg border border-zinc-300 bg-white px-3 py-1.5 text-sm outline-none focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/20 dark:border-zinc-700 dark:bg-zinc-900';

const THEMES: { value: Theme; label: string }[] = [
  { value: 'light', label: 'Light' },
  { value: 'dark', label: 'Dark' },
  { value: 'system', label: 'As the system' },
];

const SAMPLE = new Date(2026, 0, 1, 16, 5);
const HOUR_CYCLES: { value: HourCycle; label: string }[] = [
  { value: 'auto', label: `As the language (${timeLabel(SAMPLE, undefined)})` },
  { value: '12h', label: `12-hour (${timeLabel(SAMPLE, true)})` },
  { value: '24h', label: `24-hour (${timeLabel(SAMPLE, false)})` },
];

function Choice<T extends string>({
  legend,
  name,
  options,
  value,
  onChange,
}: {
  legend: string;
  name: string;
  options: { value: T; label: string }[];
  value: T;
  onChange: (value: T) => void;
}) {
  return (
    <fieldset className="mb-4">
      <legend className="mb-2 text-sm font-medium">{legend}</legend>
      <div className="flex flex-wrap gap-2">
        {options.map((o) => (
          <label
            key={o.value}
            className="flex cursor-pointer items-center gap-2 rounded-lg border border-zinc-300 px-3 py-1.5 text-sm has-[:checked]:border-indigo-600 has-[:checked]:bg-indigo-50 dark:border-zinc-700 dark:has-[:checked]:border-indigo-400 dark:has-[:checked]:bg-indigo-950/40"
          >
            <input type="radio" name={name} value={o.value} checked={value === o.value} onChange={() => onChange(o.value)} />
            {o.label}
          </label>
        ))}
      </div>
    </fieldset>
  );
}

function ProfileForm() {
  const chat = useSession();
  const me = useChat((s) => s.me);
  const [name, setName] = useState(me?.display_name ?? '');
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const id = useId();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setStatus(null);
    try {
      await chat.profile.rename(name);
      setStatus('Display name saved.');
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'Something went wrong. Check your connection.');
    }
    setBusy(false);
  };

  return (
    <form onSubmit={(e) => void submit(e)} noValidate className="space-y-2">
      <label htmlFor={id} className="block text-sm">
        Display name
      </label>
      <input id={id} className={field} value={name} maxLength={64} onChange={(e) => setName(e.target.value)} autoComplete="nickname" />
      <p className="text-xs text-zinc-500 dark:text-zinc-400">People in your conversations see it change right away. Your username stays @{me?.username}.</p>
      {error && (
        <p role="alert" className="text-sm text-red-600 dark:text-red-400">
          {error}
        </p>
      )}
      {status && (
        <p role="status" className="text-sm text-emerald-700 dark:text-emerald-300">
          {status}
        </p>
      )}
      <button type="submit" disabled={busy || name.trim() === ''} className={primary}>
        Save name
      </button>
    </form>
  );
}

function Appearance() {
  const chat = useSession();
  const settings = useChat((s) => s.settings);
  const [error, setError] = useState<string | null>(null);
  const save = (next: Settings) => {
    setError(null);
    chat.profile.saveSettings(next).catch(() => setError('Not saved on the server; this device keeps it.'));
  };
  return (
    <>
      <Choice legend="Theme" name="theme" options={THEMES} value={settings.theme} onChange={(theme) => save({ ...settings, theme })} />
      <Choice
        legend="Time"
        name="hour_cycle"
        options={HOUR_CYCLES}
        value={settings.hour_cycle}
        onChange={(hour_cycle) => save({ ...settings, hour_cycle })}
      />
      {error && (
        <p role="alert" className="text-sm text-red-600 dark:text-red-400">
          {error}
        </p>
      )}
    </>
  );
}

/** `/settings`: profile, appearance, sign-in methods and notifications, one page. */
export function SettingsPage() {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  return (
    <main className="h-full overflow-y-auto">
      <div className="mx-auto max-w-2xl space-y-4 px-4 py-6">
        <div className="flex items-center gap-3">
          <button
            type="button"
            onClick={() => navigate(null)}
            aria-label="Back to conversations"
            className="rounded-lg p-2 text-zinc-600 hover:bg-zinc-100 dark:text-zinc-400 dark:hover:bg-zinc-800"
          >
            <IconBack size={20} />
          </button>
          <h1 ref={heading} tabIndex={-1} className="text-xl font-semibold outline-none">
            Settings
          </h1>
        </div>
        <Section title="Profile">
          <ProfileForm />
        </Section>
        <Section title="Appearance">
          <Appearance />
        </Section>
        <Section title="Sign-in and password">
          <AccountSettings />
        </Section>
        <Section title="Notifications">
          <NotificationSettings />
        </Section>
      </div>
    </main>
  );
}
