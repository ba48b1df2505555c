import { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '@app/common';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Replaces Fastify's JSON body parser with one that rejects bytes that are not UTF-8 (instead of
 * silently turning them into U+FFFD) and reports bad JSON as an OpenAI 400 naming the body.
 * Keeps Fastify's prototype-poisoning protection.
 */
export function installStrictJsonParser(fastify: FastifyInstance): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer' },
    (request: FastifyRequest, body: Buffer, done: (err: Error | null, value?: unknown) => void) => {
      let text: string;
      try {
        text = utf8.decode(body);
      } catch {
        done(ApiError.badRequest('The request body is not valid UTF-8.', 'body', 'invalid_encoding'));
        return;
      }
      if (text.trim() === '') {
        done(
          ApiError.badRequest(
            'The request body is empty; a JSON object is required.',
            'body',
            'invalid_json',
          ),
        );
        return;
      }
      void parseJson(request, text, (err, value) => {
        if (err) done(ApiError.badRequest(`Invalid JSON body: ${err.message}`, 'body', 'invalid_json'));
        else done(null, value);
      });
    },
  );
}
