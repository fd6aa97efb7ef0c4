import { useEffect, useState } from 'react';
import type { Attachment } from '../state/types';
import { Dialog } from './Dialog';
import { useSession } from './hooks';
import { IconX } from './icons';

/** "1.2 MB": sizes as people read them. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/**
 * A file's bytes as an object URL: files need the bearer token, so an <img> cannot
 * load them by their API URL. Revoked when the component goes.
 */
function useBlobUrl(path: string | null): string | null {
  const chat = useSession();
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!path) return;
    let alive = true;
    let made: string | null = null;
    chat.deps.api.fileBlob(path).then(
      (blob) => {
        if (!alive) return;
        made = URL.createObjectURL(blob);
        setUrl(made);
      },
      () => undefined,
    );
    return () => {
      alive = false;
      if (made) URL.revokeObjectURL(made);
    };
  }, [chat, path]);
  return url;
}

/** A message's files: images inline with a full-size view, anything else as a download. */
export function Attachments({ items }: { items: Attachment[] }) {
  if (items.length === 0) return null;
  return (
    <div className="mt-1 flex flex-wrap gap-2" data-testid="attachments">
      {items.map((a) => (a.thumbnail ? <ImageAttachment key={a.id} item={a} /> : <FileChip key={a.id} item={a} />))}
    </div>
  );
}

function ImageAttachment({ item }: { item: Attachment }) {
  const thumbnail = useBlobUrl(item.thumbnail);
  const [open, setOpen] = useState(false);
  return (
    <>
      <button
        type="button"
        onClick={() => setOpen(true)}
        aria-label={`View ${item.name} full size`}
        className="overflow-hidden rounded-lg border border-zinc-200 bg-zinc-100 dark:border-zinc-700 dark:bg-zinc-800"
      >
        {thumbnail ? (
          <img src={thumbnail} alt={item.name} className="block max-h-60 max-w-xs object-contain" data-testid="attachment-image" />
        ) : (
          <span className="block h-24 w-32" />
        )}
      </button>
      {open && <FullSize item={item} onClose={() => setOpen(false)} />}
    </>
  );
}

function FullSize({ item, onClose }: { item: Attachment; onClose: () => void }) {
  const full = useBlobUrl(item.url);
  return (
    <Dialog title={item.name} onClose={onClose} description={formatSize(item.size)}>
      <div className="px-5 pb-5">
        {full ? (
          <img src={full} alt={item.name} className="mx-auto max-h-[70vh] max-w-full" data-testid="attachment-full" />
        ) : (
          <p className="text-sm text-zinc-600 dark:text-zinc-400">Loading…</p>
        )}
      </div>
    </Dialog>
  );
}

/**
 * A download: the bytes are fetched and saved under the file's name. The blob is
 * typed application/octet-stream so the browser never renders (or runs) it.
 */
function FileChip({ item }: { item: Attachment }) {
  const chat = useSession();
  const [failed, setFailed] = useState(false);
  const download = async () => {
    try {
      const blob = await chat.deps.api.fileBlob(item.url);
      const url = URL.createObjectURL(new Blob([blob], { type: 'application/octet-stream' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = item.name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      setFailed(false);
    } catch {
      setFailed(true);
    }
  };
  return (
    <button
      type="button"
      onClick={() => void download()}
      className="inline-flex max-w-xs items-center gap-2 rounded-lg border border-zinc-200 bg-white px-3 py-2 text-left text-sm hover:bg-zinc-50 dark:border-zinc-700 dark:bg-zinc-900 dark:hover:bg-zinc-800"
      data-testid="attachment-file"
    >
      <span className="min-w-0 flex-1 truncate font-medium">{item.name}</span>
      <span className="shrink-0 text-xs text-zinc-600 dark:text-zinc-400">{failed ? 'Download failed' : formatSize(item.size)}</span>
    </button>
  );
}

/** An upload in the composer, before the message is sent. */
export interface Upload {
  key: string;
  name: string;
  size: number;
  progress: number;
  attachment: Attachment | null;
  error: string | null;
}

export function UploadList({ uploads, onRemove }: { uploads: Upload[]; onRemove: (key: string) => void }) {
  if (uploads.length === 0) return null;
  return (
    <ul className="mb-1 flex flex-wrap gap-2" aria-label="Files to send" data-testid="uploads">
      {uploads.map((u) => (
        <li
          key={u.key}
          className={`flex items-center gap-2 rounded-lg border px-2 py-1 text-xs ${
            u.error ? 'border-red-400 text-red-700 dark:text-red-400' : 'border-zinc-300 dark:border-zinc-700'
          }`}
          data-testid="upload"
        >
          <span className="max-w-[12rem] truncate font-medium">{u.name}</span>
          {u.error ? (
            <span role="alert">{u.error}</span>
          ) : u.attachment ? (
            <span className="text-zinc-600 dark:text-zinc-400">{formatSize(u.size)}</span>
          ) : (
            <progress value={u.progress} max={1} aria-label={`Uploading ${u.name}`} className="h-1.5 w-16" />
          )}
          <button
            type="button"
            onClick={() => onRemove(u.key)}
            aria-label={`Remove ${u.name}`}
            className="rounded p-0.5 text-zinc-600 hover:bg-zinc-100 dark:text-zinc-400 dark:hover:bg-zinc-800"
          >
            <IconX size={12} />
          </button>
        </li>
      ))}
    </ul>
  );
}
