import { ApiError } from '@app/common';
import { Access } from '../generation/accounting';

/** True when the caller's policy lets it name `model` (allowed_models null: every model). */
export function mayUseModel(access: Access, model: string): boolean {
  return access.models === null || access.models.includes(model);
}

/** 404 for a model the policy does not list: OpenAI's answer, which does not confirm it exists. */
export function assertModelAllowed(access: Access, model: string): void {
  if (!mayUseModel(access, model))
    throw ApiError.notFound(
      `The model '${model}' does not exist or you do not have access to it.`,
      'model_not_found',
      'model',
    );
}
