import { ApiError, NetworkError } from '../api';

/** A failure as a sentence for the user. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.message || e.code;
  if (e instanceof NetworkError) return 'Network error — check your connection.';
  if (e instanceof Error) return e.message;
  return String(e);
}
