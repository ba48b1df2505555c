/** UTC windows of the counters: the minute (tokens/min), the day and the month (budgets). */
export const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

export interface Window {
  /** Part of the counter key. */
  id: string;
  startMs: number;
  endMs: number;
}

export function minuteWindow(nowMs: number): Window {
  const start = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS;
  return { id: String(start / MINUTE_MS), startMs: start, endMs: start + MINUTE_MS };
}

export function dayWindow(nowMs: number): Window {
  const start = Math.floor(nowMs / DAY_MS) * DAY_MS;
  return { id: new Date(start).toISOString().slice(0, 10), startMs: start, endMs: start + DAY_MS };
}

export function monthWindow(nowMs: number): Window {
  const d = new Date(nowMs);
  const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  return { id: new Date(start).toISOString().slice(0, 7), startMs: start, endMs: end };
}

/** OpenAI's reset format: "20ms", "1s", "6m0s", "1h2m3s". */
export function formatReset(ms: number): string {
  const clamped = Math.max(0, Math.ceil(ms));
  if (clamped < 1000) return `${clamped}ms`;
  const total = Math.ceil(clamped / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** Whole seconds for Retry-After (at least 1). */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
