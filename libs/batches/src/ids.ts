import { randomBytes } from 'node:crypto';

/** `file-<24 hex>` and `batch_<24 hex>`, as OpenAI's ids look. */
export const newFileId = () => `file-${randomBytes(12).toString('hex')}`;
export const newBatchId = () => `batch_${randomBytes(12).toString('hex')}`;
