import { ArgumentMetadata, Injectable, PipeTransform, ValidationError, ValidationPipe } from '@nestjs/common';
import { ApiError } from '../errors/openai-error';

interface Flat {
  path: string;
  message: string;
}

function flatten(errors: readonly ValidationError[], parent = ''): Flat[] {
  const out: Flat[] = [];
  for (const e of errors) {
    const path = parent ? `${parent}.${e.property}` : e.property;
    for (const message of Object.values(e.constraints ?? {})) {
      // class-validator says "property X should not exist" for unknown fields.
      out.push({
        path,
        message: message.startsWith(e.property) ? message.replace(e.property, path) : message,
      });
    }
    if (e.children?.length) out.push(...flatten(e.children, path));
  }
  return out;
}

/** Turns class-validator errors into one OpenAI-shaped 400 naming the first bad field. */
export function validationErrorToApiError(errors: ValidationError[]): ApiError {
  const flat = flatten(errors);
  if (flat.length === 0) return ApiError.badRequest('Invalid request body.');
  const message = flat.map((f) => f.message).join('; ');
  return ApiError.badRequest(message, flat[0].path, 'invalid_request');
}

/** The global ValidationPipe: whitelist, reject unknown fields, transform, OpenAI-shaped errors. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    stopAtFirstError: false,
    exceptionFactory: validationErrorToApiError,
  });
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_RE.test(value);
}

/** Path parameter pipe: a UUID, else a 400 naming the parameter. */
@Injectable()
export class UuidPipe implements PipeTransform<string, string> {
  transform(value: string, metadata: ArgumentMetadata): string {
    if (!isUuid(value)) {
      const name = metadata.data ?? 'id';
      throw ApiError.badRequest(`${name} must be a UUID.`, name, 'invalid_uuid');
    }
    return value.toLowerCase();
  }
}
