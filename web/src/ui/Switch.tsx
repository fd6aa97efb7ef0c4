import { useId } from 'react';

/** A labelled on/off switch with a note under it and room for an error: the settings
 * page's notification switches (push, desktop) all look and read the same. */
export function SwitchRow({
  label,
  note,
  on,
  disabled,
  onToggle,
  error,
  testId,
}: {
  label: string;
  note: string;
  on: boolean;
  disabled: boolean;
  onToggle: () => void;
  error: string | null;
  testId: string;
}) {
  const ids = { label: useId(), note: useId() };
  return (
    <div>
      <div className="flex items-center justify-between gap-3">
        <span id={ids.label} className="text-sm">
          {label}
        </span>
        <button
          type="button"
          role="switch"
          aria-checked={on}
          aria-labelledby={ids.label}
          aria-describedby={ids.note}
          disabled={disabled}
          onClick={onToggle}
          data-testid={testId}
          className={`relative inline-flex h-6 w-11 shrink-0 items-center rounded-full transition-colors focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2 disabled:cursor-not-allowed disabled:opacity-50 ${
            on ? 'bg-indigo-600' : 'bg-zinc-400 dark:bg-zinc-600'
          }`}
        >
          <span
            aria-hidden="true"
            className={`inline-block h-5 w-5 rounded-full bg-white shadow transition-transform ${on ? 'translate-x-5' : 'translate-x-0.5'}`}
          />
        </button>
      </div>
      <p id={ids.note} className="mt-1 text-xs text-zinc-500 dark:text-zinc-400">
        {note}
      </p>
      {error && (
        <p role="alert" className="mt-1 text-sm text-red-600 dark:text-red-400">
          {error}
        </p>
      )}
    </div>
  );
}
