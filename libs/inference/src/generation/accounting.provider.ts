import { Provider } from '@nestjs/common';
import { LANES } from '@app/common';
import { Accounting, ACCOUNTING } from './accounting';

/** Used until @app/quotas and @app/metering are composed in: every lane, no limits, nothing recorded. */
export class OpenAccounting implements Accounting {
  async allowedLanes() {
    return { allowed: [...LANES], defaultLane: 'standard' as const };
  }
  async reserve() {
    return { commit: async () => undefined, release: async () => undefined, headers: () => ({}) };
  }
  record(): void {}
}

export const accountingProvider: Provider = { provide: ACCOUNTING, useClass: OpenAccounting };
