import multipart from '@fastify/multipart';
import { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '@app/common';

/** Registers @fastify/multipart for POST /v1/files: one file of at most `maxBytes`. */
export function installMultipart(fastify: FastifyInstance, maxBytes: number): void {
  void fastify.register(multipart, { limits: { fileSize: maxBytes, files: 1, fields: 10, parts: 12 } });
}

export interface Upload {
  fields: Record<string, string>;
  file: { filename: string; content: Buffer } | null;
}

/** Reads a multipart body: its text fields and the part named `file` (in any order). */
export async function readUpload(req: FastifyRequest): Promise<Upload> {
  if (typeof req.isMultipart !== 'function' || !req.isMultipart())
    throw ApiError.badRequest('Send the file as multipart/form-data with fields "file" and "purpose".');
  const upload: Upload = { fields: {}, file: null };
  try {
    for await (const part of req.parts()) {
      if (part.type === 'file') {
        const content = await part.toBuffer();
        if (part.fieldname === 'file') upload.file = { filename: part.filename || 'upload.jsonl', content };
      } else if (typeof part.value === 'string') {
        upload.fields[part.fieldname] = part.value;
      }
    }
  } catch (err) {
    throw uploadError(err);
  }
  return upload;
}

/** @fastify/multipart's limit errors → OpenAI-shaped 413/400. */
function uploadError(err: unknown): ApiError {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'FST_REQ_FILE_TOO_LARGE')
    return new ApiError(413, 'The file is larger than this server accepts (FILES_MAX_BYTES).', {
      code: 'file_too_large',
      param: 'file',
    });
  if (code.startsWith('FST_'))
    return ApiError.badRequest(
      `The multipart body was refused: ${(err as Error).message}`,
      null,
      'invalid_multipart',
    );
  return err instanceof ApiError
    ? err
    : ApiError.badRequest('The multipart body could not be read.', null, 'invalid_multipart');
}
