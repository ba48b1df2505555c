import { AliasSpec, ModelsFileError } from './models-file';

/** FNV-1a (32 bit): a stable, well-spread hash of a short string, for sticky alias assignment. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Which served model answers a request's `model`: a model id as is, or an alias's weighted pick
 * (per request, or sticky per API key for A/B tests); then that model's fallbacks, tried in order
 * when it is overloaded or down. Fallbacks are not followed transitively.
 */
export class ModelRouter {
  private readonly ids: ReadonlySet<string>;
  private readonly aliases: ReadonlyMap<
    string,
    { targets: [string, number][]; total: number; assign: AliasSpec['assign'] }
  >;

  constructor(
    ids: readonly string[],
    aliases: Record<string, AliasSpec> = {},
    private readonly fallbacks: Record<string, string[]> = {},
  ) {
    const seen = new Set<string>();
    for (const id of ids) {
      if (seen.has(id))
        throw new ModelsFileError(
          `MODELS_FILE: model id '${id}' is served twice (MODEL_NAME or another entry has it)`,
        );
      seen.add(id);
    }
    this.ids = seen;
    const known = (id: string, where: string): void => {
      if (!seen.has(id))
        throw new ModelsFileError(
          `MODELS_FILE: ${where}: '${id}' is not a served model (${[...seen].join(', ')})`,
        );
    };
    const table = new Map<
      string,
      { targets: [string, number][]; total: number; assign: AliasSpec['assign'] }
    >();
    for (const [name, spec] of Object.entries(aliases)) {
      if (seen.has(name))
        throw new ModelsFileError(`MODELS_FILE: aliases.${name}: an alias cannot have a served model's id`);
      const targets = Object.entries(spec.targets);
      for (const [id] of targets) known(id, `aliases.${name}.targets`);
      table.set(name, { targets, total: targets.reduce((s, [, w]) => s + w, 0), assign: spec.assign });
    }
    this.aliases = table;
    for (const [id, list] of Object.entries(fallbacks)) {
      known(id, 'fallbacks');
      list.forEach((f, i) => {
        known(f, `fallbacks.${id}[${i}]`);
        if (f === id)
          throw new ModelsFileError(`MODELS_FILE: fallbacks.${id}[${i}]: a model cannot fall back to itself`);
        if (list.indexOf(f) !== i)
          throw new ModelsFileError(`MODELS_FILE: fallbacks.${id}[${i}]: '${f}' is listed twice`);
      });
    }
  }

  /** An alias's target model ids; undefined for a name that is not an alias. */
  aliasTargets(name: string): string[] | undefined {
    return this.aliases.get(name)?.targets.map(([id]) => id);
  }

  /** The routing table as configured (GET /admin/models). */
  describe(): { aliases: Record<string, AliasSpec>; fallbacks: Record<string, string[]> } {
    const aliases: Record<string, AliasSpec> = {};
    for (const [name, a] of this.aliases)
      aliases[name] = { targets: Object.fromEntries(a.targets), assign: a.assign };
    return { aliases, fallbacks: structuredClone(this.fallbacks) };
  }

  get aliasNames(): string[] {
    return [...this.aliases.keys()];
  }

  /**
   * The models to try for `model`, first choice first; null when it is neither a model nor an
   * alias. `key` identifies the caller for sticky aliases (the API key id).
   */
  route(model: string, key: string, random: () => number = Math.random): string[] | null {
    let id: string | undefined;
    if (this.ids.has(model)) id = model;
    else {
      const alias = this.aliases.get(model);
      if (!alias) return null;
      const u = alias.assign === 'key' ? fnv1a(`${model}\n${key}`) / 2 ** 32 : random();
      let point = u * alias.total;
      for (const [target, weight] of alias.targets) {
        id = target;
        if (point < weight) break;
        point -= weight;
      }
    }
    return [id!, ...(this.fallbacks[id!] ?? [])];
  }
}
