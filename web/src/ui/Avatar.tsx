import { hueFor, initials } from '../state/format';
import type { User } from '../state/types';

const SIZES = {
  sm: 'h-7 w-7 text-[11px]',
  md: 'h-9 w-9 text-[13px]',
  lg: 'h-10 w-10 text-sm',
} as const;

export function Avatar({
  user,
  size = 'md',
  online,
  group,
}: {
  user: Pick<User, 'id' | 'display_name' | 'username'>;
  size?: keyof typeof SIZES;
  /** Show a presence dot (true/false); undefined shows none. */
  online?: boolean;
  /** Render a group glyph look (square corners). */
  group?: boolean;
}) {
  const hue = hueFor(user.id);
  return (
    <span className="relative inline-flex shrink-0">
      <span
        aria-hidden="true"
        className={`${SIZES[size]} ${group ? 'rounded-lg' : 'rounded-full'} inline-flex select-none items-center justify-center font-semibold tracking-wide text-white avatar-bg`}
        style={{ ['--hue' as string]: String(hue) }}
      >
        {initials(user)}
      </span>
      {online !== undefined && (
        <span
          className={`absolute -right-0.5 -bottom-0.5 h-3 w-3 rounded-full border-2 border-white dark:border-zinc-900 ${
            online ? 'bg-emerald-500' : 'bg-zinc-300 dark:bg-zinc-600'
          }`}
          aria-hidden="true"
        />
      )}
    </span>
  );
}
