import { AliasSpec, ModelsFileError } from './models-file';

/**
 * FNV-1a (32 bit) with murmur3's final mix: a stable hash of a short string whose high bits
 * (which pick an alias target) differ for strings that differ only at the end ("user-1",
 * "user-2"); plain FNV-1a leaves those bits nearly equal.
 */
function stableHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A weighted pick among `targets` at `u` in [0, 1). */
function weighted(targets: [string, number][], u: number): string {
  let point = u * targets.reduce((s, [, w]) => s + w, 0);
  for (const [target, weight] of targets) {
    if (point < weight) return target;
    point -= weight;
  }
  return targets[targets.length - 1][0];
}

/** The target with the lowest load per unit of weight; ties by a weighted random pick. */
function leastBusy(targets: [string, number][], load: (id: string) => number, random: () => number): string {
  const scored = targets.map(([id, w]) => [id, w, load(id) / w] as const);
  const best = Math.min(...scored.map(([, , s]) => s));
  return weighted(
    scored.filter(([, , s]) => s === best).map(([id, w]) => [id, w]),
    random(),
  );
}

/** MODELS_FILE's routing table. */
export interface Routes {
  aliases?: Record<string, AliasSpec>;
  /** Model id → models tried in order when it is overloaded or down (a 503 before any output). */
  fallbacks?: Record<string, string[]>;
  /** Model id → models tried in order when a request exceeds its context length. */
  contextFallbacks?: Record<string, string[]>;
  /** How long a request waits in a model's lane before its fallbacks are tried (unset: the lane's limit). */
  fallbackWaitMs?: number;
}

/** Where one request goes: a model, and the models to try when it refuses the request. */
export interface Route {
  model: string;
  fallbacks: string[];
  contextFallbacks: string[];
  /** Set when there are fallbacks and fallback_wait_ms is: the longest wait in each model's lane. */
  fallbackWaitMs?: number;
}

/** Who asks: sticky aliases assign by API key, or by the request's end `user` when it names one. */
export interface StickyCaller {
  apiKeyId: string;
  user?: string;
}

interface AliasEntry {
  targets: [string, number][];
  assign: AliasSpec['assign'];
}

/** request / key / user assignment: a weighted pick, at random or at a caller's stable point. */
function pick(alias: AliasEntry, model: string, caller: StickyCaller, random: () => number): string {
  const sticky =
    alias.assign === 'user' && caller.user !== undefined
      ? `user:${caller.user}`
      : alias.assign !== 'request'
        ? `key:${caller.apiKeyId}`
        : null;
  return weighted(alias.targets, sticky === null ? random() : stableHash(`${model}\n${sticky}`) / 2 ** 32);
}

/**
 * Which served model answers a request's `model`: a model id as is, or an alias's pick (weighted
 * per request, sticky per API key or end user for A/B tests, or the least busy); then that model's
 * fallbacks. Fallbacks are not followed transitively.
 */
export class ModelRouter {
  private readonly ids: ReadonlySet<string>;
  private readonly aliases = new Map<string, AliasEntry>();
  private readonly fallbacks: Record<string, string[]>;
  private readonly contextFallbacks: Record<string, string[]>;
  private readonly fallbackWaitMs?: number;

  constructor(ids: readonly string[], routes: Routes = {}) {
    const seen = new Set<string>();
    for (const id of ids) {
      if (seen.has(id))
        throw new ModelsFileError(
          `MODELS_FILE: model id '${id}' is served twice (MODEL_NAME or another entry has it)`,
        );
      seen.add(id);
    }
    this.ids = seen;
    for (const [name, spec] of Object.entries(routes.aliases ?? {})) {
      if (seen.has(name))
        throw new ModelsFileError(`MODELS_FILE: aliases.${name}: an alias cannot have a served model's id`);
      const targets = Object.entries(spec.targets);
      for (const [id] of targets) this.known(id, `aliases.${name}.targets`);
      this.aliases.set(name, { targets, assign: spec.assign });
    }
    this.fallbacks = this.checkedLists(routes.fallbacks ?? {}, 'fallbacks');
    this.contextFallbacks = this.checkedLists(routes.contextFallbacks ?? {}, 'context_fallbacks');
    this.fallbackWaitMs = routes.fallbackWaitMs;
  }

  private known(id: string, where: string): void {
    if (!this.ids.has(id))
      throw new ModelsFileError(
        `MODELS_FILE: ${where}: '${id}' is not a served model (${[...this.ids].join(', ')})`,
      );
  }

  private checkedLists(lists: Record<string, string[]>, where: string): Record<string, string[]> {
    for (const [id, list] of Object.entries(lists)) {
      this.known(id, where);
      list.forEach((f, i) => {
        this.known(f, `${where}.${id}[${i}]`);
        if (f === id)
          throw new ModelsFileError(`MODELS_FILE: ${where}.${id}[${i}]: a model cannot fall back to itself`);
        if (list.indexOf(f) !== i)
          throw new ModelsFileError(`MODELS_FILE: ${where}.${id}[${i}]: '${f}' is listed twice`);
      });
    }
    return structuredClone(lists);
  }

  /** An alias's target model ids; undefined for a name that is not an alias. */
  aliasTargets(name: string): string[] | undefined {
    return this.aliases.get(name)?.targets.map(([id]) => id);
  }

  get aliasNames(): string[] {
    return [...this.aliases.keys()];
  }

  /** The routing table as configured (GET /admin/models). */
  describe() {
    const aliases: Record<string, AliasSpec> = {};
    for (const [name, a] of this.aliases)
      aliases[name] = { targets: Object.fromEntries(a.targets), assign: a.assign };
    return {
      aliases,
      fallbacks: structuredClone(this.fallbacks),
      context_fallbacks: structuredClone(this.contextFallbacks),
      fallback_wait_ms: this.fallbackWaitMs ?? null,
    };
  }

  /**
   * Where a request for `model` goes; null when it is neither a model nor an alias. `caller`
   * identifies who asks, for sticky aliases: the API key id, and the request's `user` if any.
   * `load` is a model's busyness (sequences running and queued per engine slot), for least_busy.
   */
  route(
    model: string,
    caller: StickyCaller,
    random: () => number = Math.random,
    load: (id: string) => number = () => 0,
  ): Route | null {
    let id = model;
    if (!this.ids.has(model)) {
      const alias = this.aliases.get(model);
      if (!alias) return null;
      id =
        alias.assign === 'least_busy'
          ? leastBusy(alias.targets, load, random)
          : pick(alias, model, caller, random);
    }
    const fallbacks = this.fallbacks[id] ?? [];
    return {
      model: id,
      fallbacks,
      contextFallbacks: this.contextFallbacks[id] ?? [],
      ...(fallbacks.length > 0 && this.fallbackWaitMs !== undefined
        ? { fallbackWaitMs: this.fallbackWaitMs }
        : {}),
    };
  }
}
