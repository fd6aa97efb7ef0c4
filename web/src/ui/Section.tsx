import { useId, type ReactNode } from 'react';

/**
 * A titled region of a page: a <section> named by its own heading, so screen readers
 * list it as a landmark. Level 2 is a boxed part of the page, level 3 a part within it.
 */
export function Section({ title, level = 2, children }: { title: string; level?: 2 | 3; children: ReactNode }) {
  const id = useId();
  if (level === 3) {
    return (
      <section aria-labelledby={id} className="space-y-3">
        <h3 id={id} className="text-sm font-semibold">
          {title}
        </h3>
        {children}
      </section>
    );
  }
  return (
    <section aria-labelledby={id} className="rounded-xl border border-zinc-200 p-4 dark:border-zinc-800">
      <h2 id={id} className="mb-3 text-base font-semibold">
        {title}
      </h2>
      {children}
    </section>
  );
}
