import { base64Embedding, normalizedEmbedding } from './embedding-vectors';

describe('embedding vectors', () => {
  it('scales to unit length, after keeping the first dimensions', () => {
    const raw = Float32Array.from([3, 4, 12]);
    expect([...normalizedEmbedding(raw)]).toEqual([3 / 13, 4 / 13, 12 / 13].map(Math.fround));
    expect([...normalizedEmbedding(raw, 2)]).toEqual([0.6, 0.8].map(Math.fround));
    expect([...raw]).toEqual([3, 4, 12]); // the engine's vector is left alone
    expect([...normalizedEmbedding(new Float32Array(2))]).toEqual([0, 0]);
  });

  it('base64 is the float32 little-endian bytes', () => {
    const v = Float32Array.from([1, -0.5]);
    const bytes = Buffer.from(base64Embedding(v), 'base64');
    expect(bytes.length).toBe(8);
    expect([bytes.readFloatLE(0), bytes.readFloatLE(4)]).toEqual([1, -0.5]);
  });
});
