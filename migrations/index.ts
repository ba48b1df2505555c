/**
 * Every migration, in order. The schema changes only through these (run at boot and by
 * `npm run migration:run`; never `synchronize`). Add new ones at the end.
 */
import { TenantsApiKeysAudit1764190000000 } from './1764190000000-TenantsApiKeysAudit';
import { QuotaPolicies1764200000000 } from './1764200000000-QuotaPolicies';
import { UsageEvents1764200100000 } from './1764200100000-UsageEvents';
import { QuotaAllowedModels1764300000000 } from './1764300000000-QuotaAllowedModels';
import { QuotaGuardrails1764400000000 } from './1764400000000-QuotaGuardrails';
import { QuotaEndUserLimits1764500000000 } from './1764500000000-QuotaEndUserLimits';
import { UsageEndUser1764600000000 } from './1764600000000-UsageEndUser';
import { UsageKind1764700000000 } from './1764700000000-UsageKind';
import { FilesBatches1764800000000 } from './1764800000000-FilesBatches';
import { UsageUserKind1764900000000 } from './1764900000000-UsageUserKind';
import { Responses1765000000000 } from './1765000000000-Responses';

export const MIGRATIONS = [
  TenantsApiKeysAudit1764190000000,
  QuotaPolicies1764200000000,
  UsageEvents1764200100000,
  QuotaAllowedModels1764300000000,
  QuotaGuardrails1764400000000,
  QuotaEndUserLimits1764500000000,
  UsageEndUser1764600000000,
  UsageKind1764700000000,
  FilesBatches1764800000000,
  UsageUserKind1764900000000,
  Responses1765000000000,
];
