import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { EngineEvent } from '../engine.types';
import { RemoteEngineProvider } from './remote-engine.provider';

/**
 * The provider's stream handling against scripted upstreams (local HTTP servers that speak the
 * streamed /v1/completions protocol): what a broken or abandoned stream yields and bills. The
 * real gateways as upstreams are in test/e2e/remote.e2e-spec.ts.
 */
type Script = (body: { prompt: number[]; max_tokens: number }, res: ServerResponse) => void;

const chunk = (res: ServerResponse, tokens: number[], finish?: string) =>
  res.write(
    `data: ${JSON.stringify({
      choices: [
        {
          index: 0,
          text: '',
          logprobs: { tokens: tokens.map((t) => `token_id:${t}`) },
          finish_reason: finish ?? null,
        },
      ],
    })}\n\n`,
  );

async function upstream(script: Script): Promise<{ url: string; bodies: unknown[]; server: Server }> {
  const bodies: unknown[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ data: [{ id: 'm' }] }));
      return;
    }
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw) as { prompt: number[]; max_tokens: number };
      bodies.push(body);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      script(body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, server };
}

describe('RemoteEngineProvider streams', () => {
  const servers: Server[] = [];
  const providers: RemoteEngineProvider[] = [];
  afterEach(async () => {
    for (const p of providers.splice(0)) await p.close();
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  async function provider(...scripts: Script[]) {
    const ups = await Promise.all(scripts.map(upstream));
    servers.push(...ups.map((u) => u.server));
    const p = new RemoteEngineProvider({ urls: ups.map((u) => u.url), model: 'm', maxModelLen: 100 });
    providers.push(p);
    await p.pool.checkAll();
    return { p, ups };
  }

  it('an aborted stream bills the tokens it delivered (not 0)', async () => {
    // Three tokens, then the upstream keeps the stream open.
    const { p } = await provider((_body, res) => chunk(res, [11, 12, 13]));
    const abort = new AbortController();
    const events: EngineEvent[] = [];
    for await (const ev of p.generate(
      { id: 'a', promptTokens: [1, 2], sampling: { maxTokens: 10 } },
      abort.signal,
    )) {
      events.push(ev);
      if (events.flatMap((e) => e.newTokens).length === 3) abort.abort();
    }
    const last = events[events.length - 1];
    expect(last).toMatchObject({ finished: true, reason: 'abort', generatedTokens: 3 });
  });

  it('a stream that breaks after tokens resumes on the other upstream, from where it broke', async () => {
    const { p, ups } = await provider(
      // Upstream A: three tokens, then the connection is cut.
      (_body, res) => {
        chunk(res, [11, 12, 13]);
        setTimeout(() => res.socket?.destroy(), 20);
      },
      // Upstream B: the rest, asked for with the tokens so far in the prompt.
      (body, res) => {
        chunk(res, [14, 15]);
        chunk(res, [16], 'length');
        res.write(
          `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: body.prompt.length, completion_tokens: 3 } })}\n\n`,
        );
        res.end('data: [DONE]\n\n');
      },
    );
    const events: EngineEvent[] = [];
    for await (const ev of p.generate({
      id: 'b',
      promptTokens: [1, 2],
      sampling: { maxTokens: 6, temperature: 0 },
    }))
      events.push(ev);
    expect(events.flatMap((e) => e.newTokens)).toEqual([11, 12, 13, 14, 15, 16]);
    expect(ups[1].bodies[0]).toMatchObject({ prompt: [1, 2, 11, 12, 13], max_tokens: 3 });
    // Billed as one request: the client's prompt (2), every token (6).
    expect(events[events.length - 1]).toMatchObject({
      finished: true,
      reason: 'length',
      promptTokens: 2,
      generatedTokens: 6,
    });
    expect(p.resumedStreams).toBe(1);
  });

  it('structured output does not resume: the broken stream ends with an error and its tokens billed', async () => {
    const { p, ups } = await provider(
      (_body, res) => {
        chunk(res, [11]);
        setTimeout(() => res.socket?.destroy(), 20);
      },
      (_body, res) => res.end('data: [DONE]\n\n'),
    );
    const events: EngineEvent[] = [];
    const request = {
      id: 'c',
      promptTokens: [1],
      sampling: { maxTokens: 5, responseFormat: 'json_object' as const },
    };
    for await (const ev of p.generate(request)) events.push(ev);
    expect(events[events.length - 1]).toMatchObject({ finished: true, reason: 'error', generatedTokens: 1 });
    expect(events[events.length - 1].error).toMatch(/structured output cannot resume/);
    expect(ups[1].bodies).toHaveLength(0);
  });

  it('an embed request is one /v1/embeddings call, retried on another upstream when one fails', async () => {
    const vector = Float32Array.from([0.5, -0.25, 1]);
    const b64 = Buffer.from(vector.buffer).toString('base64');
    const { p, ups } = await provider(
      (_body, res) => res.destroy(), // the first upstream drops the connection
      (_body, res) => res.end(JSON.stringify({ data: [{ embedding: b64 }], usage: { prompt_tokens: 3 } })),
    );
    const events: EngineEvent[] = [];
    for await (const ev of p.generate({ promptTokens: [1, 2, 3], embed: true })) events.push(ev);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ finished: true, reason: 'stop', promptTokens: 3, generatedTokens: 0 });
    expect([...events[0].embedding!]).toEqual([...vector]);
    expect(ups[0].bodies).toHaveLength(1);
    expect(ups[1].bodies).toEqual([{ model: 'm', input: [[1, 2, 3]], encoding_format: 'base64' }]);
    expect(p.info().embeddings).toBe(true);
  });
});
