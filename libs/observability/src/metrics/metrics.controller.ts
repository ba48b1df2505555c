import { timingSafeEqual } from 'node:crypto';
import { Controller, Get, Headers, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import { ApiError } from '@app/common';
import { MetricsCollector } from './metrics.collector';
import { METRICS_SETTINGS, ResolvedMetricsSettings } from './metrics.settings';

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * GET /metrics (Prometheus text format): never rate limited; behind `Authorization: Bearer
 * <METRICS_BEARER_TOKEN>` when that is set. Engine and GPU readings are refreshed first.
 */
@ApiExcludeController()
@SkipThrottle()
@Controller()
export class MetricsController extends PrometheusController {
  constructor(
    @Inject(METRICS_SETTINGS) private readonly settings: ResolvedMetricsSettings,
    private readonly collector: MetricsCollector,
  ) {
    super();
  }

  @Get()
  override async index(
    @Res({ passthrough: true }) response: unknown,
    @Headers('authorization') authorization?: string,
  ): Promise<string> {
    const token = this.settings.bearerToken;
    if (token !== null) {
      const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
      if (!match || !sameSecret(match[1].trim(), token))
        throw ApiError.unauthorized(
          'GET /metrics requires Authorization: Bearer <METRICS_BEARER_TOKEN>.',
          'unauthorized',
        );
    }
    this.collector.refresh();
    return super.index(response);
  }
}
