import { Lane } from '@app/common';

/** Who is asking (from ApiKeyGuard's verified key). */
export interface Caller {
  tenantId: string;
  apiKeyId: string;
}

export interface ReservationHandle {
  commit(actualTotalTokens: number): Promise<void>;
  release(): Promise<void>;
  headers(): Record<string, string>;
}

export type UsageStatus = 'completed' | 'aborted' | 'error' | 'rejected';

export interface UsageRecord {
  requestId: string;
  tenantId: string;
  apiKeyId: string;
  model: string;
  lane: Lane;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  status: UsageStatus;
  ttftMs: number | null;
  durationMs: number;
  startedAt: Date;
  endedAt: Date;
}

/**
 * What the request path needs from quotas and metering (their services implement it; see
 * accounting.provider.ts for the wiring).
 */
export interface Accounting {
  allowedLanes(caller: Caller): Promise<{ allowed: Lane[]; defaultLane: Lane }>;
  reserve(ctx: {
    requestId: string;
    tenantId: string;
    apiKeyId: string;
    lane: Lane;
    promptTokens: number;
    maxTokens: number;
  }): Promise<ReservationHandle>;
  record(event: UsageRecord): void;
}

export const ACCOUNTING = Symbol('INFERENCE_ACCOUNTING');
