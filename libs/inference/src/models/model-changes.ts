import { DeploymentSpec } from './models-file';

/** How a re-read MODELS_FILE's `models` differ from those loaded (by id; a changed entry is replaced). */
export interface ModelChanges {
  added: DeploymentSpec[];
  replaced: DeploymentSpec[];
  removed: string[];
}

/** `loaded`: each loaded model's spec as JSON, by id (what the registry loaded it from). */
export function modelChanges(loaded: ReadonlyMap<string, string>, next: DeploymentSpec[]): ModelChanges {
  const ids = new Set(next.map((m) => m.id));
  return {
    added: next.filter((m) => !loaded.has(m.id)),
    replaced: next.filter((m) => loaded.has(m.id) && loaded.get(m.id) !== JSON.stringify(m)),
    removed: [...loaded.keys()].filter((id) => !ids.has(id)),
  };
}

/** The audit's and the API's summary: ids only. */
export function describeChanges(c: ModelChanges): { added: string[]; replaced: string[]; removed: string[] } {
  return { added: c.added.map((m) => m.id), replaced: c.replaced.map((m) => m.id), removed: c.removed };
}
