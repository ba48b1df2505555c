import { basename, resolve } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@app/common';

export interface ModelCard {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

/** The model(s) this gateway serves: MODEL_NAME, else the basename of MODEL_PATH. */
@Injectable()
export class ModelCatalog {
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  get modelId(): string {
    if (this.config.modelName) return this.config.modelName;
    if (this.config.modelPath) return basename(resolve(this.config.modelPath));
    return 'tiny-llama';
  }

  list(): ModelCard[] {
    return [{ id: this.modelId, object: 'model', created: this.created, owned_by: 'llm-inference' }];
  }
}
