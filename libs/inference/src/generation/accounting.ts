import { Lane } from '@app/common';
import type { UsageEventInput } from '@app/metering';
import { GuardrailPolicy } from '../guardrails/guardrail-policy';

/** Who is asking (from ApiKeyGuard's verified key). */
export interface Caller {
  tenantId: string;
  apiKeyId: string;
  /**
   * The request's id (usage event and engine request) when the caller fixes it: a batch line
   * keeps its id across reruns, so a line run again after a crash is billed once.
   */
  requestId?: string;
}

export interface ReservationHandle {
  commit(actualTotalTokens: number): Promise<void>;
  release(): Promise<void>;
  headers(): Record<string, string>;
}

/** The usage event recorded per request: metering's input type, so the field list lives in one place. */
export type { UsageStatus } from '@app/metering';
export type UsageRecord = UsageEventInput;

/**
 * What the request path needs from quotas and metering (their services implement it; see
 * accounting.provider.ts for the wiring).
 */
/** What a caller's policy lets it use. */
export interface Access {
  lanes: Lane[];
  defaultLane: Lane;
  /** Model ids or aliases it may name in `model`; null = every served model. */
  models: string[] | null;
  guardrails: GuardrailPolicy;
  /** Every request must name its end user (`user`). */
  requireUser: boolean;
}

export interface Accounting {
  access(caller: Caller): Promise<Access>;
  reserve(ctx: {
    requestId: string;
    tenantId: string;
    apiKeyId: string;
    lane: Lane;
    promptTokens: number;
    maxTokens: number;
    /** The request's `user` (its own tokens-per-minute counter where the policy sets one). */
    endUser?: string;
  }): Promise<ReservationHandle>;
  /**
   * The request was admitted: what to bill if the process dies before record(). The caller keeps
   * `marker.completionTokens` current while the request runs (the marker is read, not copied).
   */
  open(marker: UsageRecord): void;
  record(event: UsageRecord): void;
}

export const ACCOUNTING = Symbol('INFERENCE_ACCOUNTING');
