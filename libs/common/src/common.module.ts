import { Global, Module } from '@nestjs/common';
import { CLOCK, systemClock } from './clock/clock';
import { ReadinessRegistry } from './readiness/readiness.registry';

/** Process-wide services: readiness registry and clock. */
@Global()
@Module({
  providers: [ReadinessRegistry, { provide: CLOCK, useValue: systemClock }],
  exports: [ReadinessRegistry, CLOCK],
})
export class CommonModule {}
