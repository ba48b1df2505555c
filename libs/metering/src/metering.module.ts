import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { MeteringService } from './metering.service';
import { priceListProvider } from './pricing/price-list.provider';
import { UsageReportService } from './reports/usage-report.service';
import { UsageRetentionService } from './retention.service';
import { UsageController } from './usage.controller';
import { UsageTotals } from './usage-totals';

/** Usage events (exactly-once, journaled), daily rollups, reports and GET /v1/usage. */
@Module({
  imports: [AuthModule],
  controllers: [UsageController],
  providers: [MeteringService, UsageTotals, UsageReportService, UsageRetentionService, priceListProvider],
  exports: [MeteringService, UsageTotals, UsageReportService, UsageRetentionService],
})
export class MeteringModule {}
