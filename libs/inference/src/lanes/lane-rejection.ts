import { Lane } from '@app/common';

export type RejectionReason = 'tenant_over_share' | 'overloaded' | 'queue_timeout';

/** Load shedding: 429 when the tenant is over its share of the lane, else 503. */
export class LaneRejection extends Error {
  constructor(
    readonly status: 429 | 503,
    readonly reason: RejectionReason,
    readonly lane: Lane,
    readonly retryAfterS: number,
  ) {
    super(
      status === 429
        ? `Too many queued requests for your tenant in the ${lane} lane; retry after ${retryAfterS}s.`
        : reason === 'queue_timeout'
          ? `The server is overloaded: the request waited too long in the ${lane} lane; retry after ${retryAfterS}s.`
          : `The server is overloaded (${lane} lane queue full); retry after ${retryAfterS}s.`,
    );
    this.name = 'LaneRejection';
  }
}

/** The request was aborted (client gone) while it waited in a lane. */
export class QueueAbortedError extends Error {
  constructor() {
    super('aborted while queued');
    this.name = 'QueueAbortedError';
  }
}
