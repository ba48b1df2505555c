import { Inject, Injectable } from '@nestjs/common';
import { ApiError, APP_CONFIG, AppConfig } from '@app/common';
import { ModelFiles, readModelFiles } from './model-files';
import { ModelText } from './model-text';

/** Loads the served model's tokenizer, chat template and generation defaults once (MODEL_PATH). */
@Injectable()
export class ModelTextProvider {
  private loaded?: { files: ModelFiles; text: ModelText };

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  get(): { files: ModelFiles; text: ModelText } {
    if (this.loaded) return this.loaded;
    if (!this.config.modelPath) {
      throw ApiError.unavailable('No model is configured on this server (MODEL_PATH).', 'model_not_loaded');
    }
    const files = readModelFiles(this.config.modelPath);
    this.loaded = { files, text: new ModelText(files) };
    return this.loaded;
  }
}
