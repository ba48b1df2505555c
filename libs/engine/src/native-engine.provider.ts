import { randomUUID } from 'node:crypto';
import { EngineProvider } from './engine-provider';
import {
  EngineEvent,
  EngineInfo,
  EngineRequest,
  EngineStats,
  NativeEngineOptions,
  StepSamples,
} from './engine.types';
import { EventQueue } from './event-queue';
import { NativeAddon, NativeEngine, loadAddon } from './native-addon';

/**
 * The in-process native engine. The addon delivers each engine step's events on the JS thread
 * (one ThreadSafeFunction call per step); they are routed to per-request async queues.
 */
export class NativeEngineProvider implements EngineProvider {
  private engine: NativeEngine | null;
  private readonly queues = new Map<string, EventQueue<EngineEvent>>();
  private infoCache: EngineInfo | null = null;
  private closed = false;

  /** Loads the model on the JS thread (startup); see load() for a load that does not block it. */
  constructor(
    options: NativeEngineOptions,
    private readonly addon: NativeAddon = loadAddon(),
    deferLoad = false,
  ) {
    this.engine = new addon.Engine(options, (events) => this.route(events), deferLoad);
    if (!deferLoad) this.infoCache = this.engine.info();
  }

  /**
   * Loads the model on a worker thread: the event loop keeps serving meanwhile (a model added at
   * runtime). Rejects with the engine's error (bad path, too little memory, ...).
   */
  static async load(
    options: NativeEngineOptions,
    addon: NativeAddon = loadAddon(),
  ): Promise<NativeEngineProvider> {
    const provider = new NativeEngineProvider(options, addon, true);
    await provider.engine!.load();
    provider.infoCache = provider.engine!.info();
    return provider;
  }

  get ready(): boolean {
    return this.engine !== null && this.infoCache !== null && !this.closed;
  }

  generate(request: EngineRequest, signal?: AbortSignal): AsyncIterable<EngineEvent> {
    if (!this.engine || this.closed) throw new Error('engine is closed');
    const id = request.id ?? randomUUID();
    if (this.queues.has(id)) throw new Error(`duplicate request id '${id}'`);
    const queue = new EventQueue<EngineEvent>();
    if (signal?.aborted) {
      queue.push({
        id,
        newTokens: [],
        finished: true,
        reason: 'abort',
        promptTokens: request.promptTokens.length,
        cachedPromptTokens: 0,
        generatedTokens: 0,
      });
      queue.end();
      return queue;
    }
    this.engine.add({ ...request, id }); // throws on bad arguments, before anything is queued
    this.queues.set(id, queue);
    const engine = this.engine;
    const onAbort = (): void => engine.abort(id);
    signal?.addEventListener('abort', onAbort, { once: true });
    return this.stream(id, queue, () => signal?.removeEventListener('abort', onAbort));
  }

  private async *stream(
    id: string,
    queue: EventQueue<EngineEvent>,
    cleanup: () => void,
  ): AsyncGenerator<EngineEvent> {
    let finished = false;
    try {
      for await (const event of queue) {
        if (event.finished) finished = true;
        yield event;
        if (finished) return;
      }
    } finally {
      cleanup();
      if (!finished) this.engine?.abort(id); // the consumer left early: free its KV blocks
    }
  }

  private route(events: EngineEvent[]): void {
    for (const event of events) {
      const queue = this.queues.get(event.id);
      if (!queue) continue;
      queue.push(event);
      if (event.finished) {
        this.queues.delete(event.id);
        queue.end();
      }
    }
  }

  stats(): EngineStats {
    if (!this.engine) throw new Error('engine is closed');
    return this.engine.stats();
  }

  drainSteps(): StepSamples {
    if (!this.engine) throw new Error('engine is closed');
    return this.engine.drainSteps();
  }

  info(): EngineInfo {
    if (!this.infoCache) throw new Error('engine is loading');
    return this.infoCache;
  }

  readonly promptLogprobs = true;

  checkJsonSchema(schemaText: string): string | null {
    return this.addon.checkJsonSchema(schemaText);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.engine?.close(); // aborts everything; the abort events arrive asynchronously
    // Let the queued abort events reach their streams before resolving.
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (const [id, queue] of this.queues) {
      queue.push({ id, newTokens: [], finished: true, reason: 'abort' });
      queue.end();
    }
    this.queues.clear();
  }
}
