import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { openAIErrorBody, ReadinessRegistry } from '@app/common';
import { ShutdownState } from '../boot/shutdown-state';

interface Reply {
  status(code: number): Reply;
  send(body: unknown): void;
}

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(
    private readonly readiness: ReadinessRegistry,
    private readonly shutdown: ShutdownState,
  ) {}

  /** Liveness: the process serves HTTP. */
  @Get('health')
  health() {
    return { status: 'ok' };
  }

  /** Readiness: every registered dependency (database, engine, ...) is up and we are not draining. */
  @Get('ready')
  async ready(@Res() reply: Reply) {
    const { ready, checks } = await this.readiness.check();
    if (this.shutdown.draining) {
      reply.status(HttpStatus.SERVICE_UNAVAILABLE).send({
        ...openAIErrorBody(503, 'Shutting down.', { code: 'shutting_down' }),
        status: 'draining',
        checks,
      });
    } else if (!ready) {
      const failing = Object.entries(checks)
        .filter(([, c]) => !c.ok)
        .map(([name, c]) => `${name}: ${c.status}`);
      reply.status(HttpStatus.SERVICE_UNAVAILABLE).send({
        ...openAIErrorBody(503, `Not ready (${failing.join(', ')}).`, { code: 'not_ready' }),
        status: 'not_ready',
        checks,
      });
    } else {
      reply.status(200).send({ status: 'ready', checks });
    }
  }
}
