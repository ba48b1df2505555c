import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import { toOpenAIError } from './to-openai-error';

interface ReplyLike {
  sent?: boolean;
  raw?: { headersSent?: boolean; writableEnded?: boolean; end?: () => void };
  status(code: number): ReplyLike;
  header(name: string, value: string): ReplyLike;
  send(body: unknown): unknown;
}

/** Renders every error that reaches Nest in OpenAI's error shape. */
@Catch()
export class OpenAIExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<ReplyLike>();
    const request = host.switchToHttp().getRequest<{ id?: string; method?: string; url?: string }>();
    const rendered = toOpenAIError(exception);
    if (rendered.internal) {
      const stack = exception instanceof Error ? exception.stack : String(exception);
      this.logger.error(
        `unhandled error on ${request?.method} ${request?.url} (request ${request?.id}): ${stack}`,
      );
    }
    if (reply.sent || reply.raw?.headersSent) {
      // A streamed response already started: the connection is all we can end.
      if (!reply.raw?.writableEnded) reply.raw?.end?.();
      return;
    }
    for (const [name, value] of Object.entries(rendered.headers)) reply.header(name, value);
    reply.status(rendered.status).send(rendered.body);
  }
}
