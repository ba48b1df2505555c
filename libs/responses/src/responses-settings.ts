import { AppConfig } from '@app/common';

export interface ResponsesSettings {
  /** Days a stored response is kept (0: until deleted). */
  retentionDays: number;
}

export const RESPONSES_SETTINGS = Symbol('RESPONSES_SETTINGS');

/** RESPONSES_RETENTION_DAYS from the validated configuration. */
export function responsesSettingsFrom(config: AppConfig): ResponsesSettings {
  return { retentionDays: Number(config.raw.RESPONSES_RETENTION_DAYS) };
}
