import { EngineRequest } from '../engine.types';
import { completionBody, continuationRequest } from './remote-request';

describe('continuationRequest (resuming a broken upstream stream)', () => {
  const req: EngineRequest = {
    id: 'r',
    promptTokens: [1, 2, 3],
    sampling: { maxTokens: 10, minTokens: 4, temperature: 0, promptLogprobs: 1 },
  };

  it('is the request itself before anything was delivered', () => {
    expect(continuationRequest(req, [], false)).toBe(req);
  });

  it('appends the delivered tokens to the prompt and asks for the rest, without scoring the prompt again', () => {
    const next = continuationRequest(req, [7, 8, 9], true);
    expect(next).toEqual({
      id: 'r',
      promptTokens: [1, 2, 3, 7, 8, 9],
      sampling: { maxTokens: 7, minTokens: 1, temperature: 0, promptLogprobs: undefined },
    });
    expect(completionBody('m', next as EngineRequest)).toMatchObject({
      prompt: [1, 2, 3, 7, 8, 9],
      max_tokens: 7,
    });
    expect(completionBody('m', next as EngineRequest).echo).toBeUndefined();
    // Only the prompt's scores arrived: the same prompt and budget, no second echo.
    expect(continuationRequest(req, [], true)).toMatchObject({
      promptTokens: [1, 2, 3],
      sampling: { maxTokens: 10 },
    });
    expect(req.promptTokens).toEqual([1, 2, 3]); // the original is untouched
  });

  it("is 'done' when every token arrived, and null for structured output", () => {
    expect(
      continuationRequest(
        req,
        Array.from({ length: 10 }, (_, i) => i),
        false,
      ),
    ).toBe('done');
    const json: EngineRequest = { ...req, sampling: { ...req.sampling, responseFormat: 'json_object' } };
    expect(continuationRequest(json, [5], false)).toBeNull();
    expect(
      continuationRequest({ ...req, sampling: { ...req.sampling, responseFormat: 'text' } }, [5], false),
    ).not.toBeNull();
  });
});
