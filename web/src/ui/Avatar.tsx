import { use, useEffect, useState } from "react";
import { ApiError, type ApiClient } from "../state/api";
import { AvatarCache } from "../state/avatars";
import { hueFor, initials } from "../state/format";
import type { User } from "../state/types";
import { SessionContext } from "./hooks";

const caches = new WeakMap<ApiClient, AvatarCache>();

/** The avatar cache of a session's API client (one per signed-in user). */
export function avatarCache(api: ApiClient): AvatarCache {
  let cache = caches.get(api);
  if (!cache) {
    cache = new AvatarCache((id) =>
      api
        .fileBlob(`/api/users/${encodeURIComponent(id)}/avatar`)
        .catch((e: unknown) => {
          if (e instanceof ApiError && e.status === 404) return null;
          throw e;
        }),
    );
    caches.set(api, cache);
  }
  return cache;
}

/** The user's picture as an object URL, or null (none, loading, or outside a session). */
function useAvatar(userId: string | null): string | null {
  const session = use(SessionContext);
  const [url, setUrl] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    if (!session || userId === null) return;
    const cache = avatarCache(session.deps.api);
    let alive = true;
    void cache.get(userId).then((found) => alive && setUrl(found));
    const unsubscribe = cache.subscribe(() => setVersion((v) => v + 1));
    return () => {
      alive = false;
      unsubscribe();
    };
  }, [session, userId, version]);
  return url;
}

const SIZES = {
  sm: "h-7 w-7 text-[11px]",
  md: "h-9 w-9 text-[13px]",
  lg: "h-10 w-10 text-sm",
} as const;

export function Avatar({
  user,
  size = "md",
  online,
  group,
}: {
  user: Pick<User, "id" | "display_name" | "username">;
  size?: keyof typeof SIZES;
  /** Show a presence dot (true/false); undefined shows none. */
  online?: boolean;
  /** Render a group glyph look (square corners). */
  group?: boolean;
}) {
  const hue = hueFor(user.id);
  // A group's glyph is the room's, not a user's: it has no picture.
  const picture = useAvatar(group ? null : user.id);
  return (
    <span className="relative inline-flex shrink-0">
      {picture ? (
        <img
          src={picture}
          alt=""
          aria-hidden="true"
          className={`${SIZES[size]} ${group ? "rounded-lg" : "rounded-full"} object-cover`}
          data-testid="avatar-picture"
        />
      ) : (
        <span
          aria-hidden="true"
          className={`${SIZES[size]} ${group ? "rounded-lg" : "rounded-full"} inline-flex select-none items-center justify-center font-semibold tracking-wide text-white avatar-bg`}
          style={{ ["--hue" as string]: String(hue) }}
        >
          {initials(user)}
        </span>
      )}
      {online !== undefined && (
        <span
          className={`absolute -right-0.5 -bottom-0.5 h-3 w-3 rounded-full border-2 border-white dark:border-zinc-900 ${
            online ? "bg-emerald-500" : "bg-zinc-300 dark:bg-zinc-600"
          }`}
          aria-hidden="true"
        />
      )}
    </span>
  );
}
