import { BlockedTermsStream } from './blocked-terms-stream';

function run(pieces: string[], terms: string[]): { out: string; blocked: boolean } {
  const s = new BlockedTermsStream(terms);
  let out = '';
  for (let i = 0; i < pieces.length; i++) {
    const r = s.push(pieces[i], i === pieces.length - 1);
    out += r.text;
    if (r.blocked) return { out, blocked: true };
  }
  return { out, blocked: false };
}

describe('BlockedTermsStream', () => {
  it('stops before a term split over pieces, in any case', () => {
    expect(run(['We use Pro', 'ject Fal', 'con for it.'], ['project falcon'])).toEqual({
      out: 'We use ',
      blocked: true,
    });
  });

  it('waits for the next piece to tell a term from a longer word', () => {
    expect(run(['a class', 'ic car'], ['class'])).toEqual({ out: 'a classic car', blocked: false });
    expect(run(['a class', ' act'], ['class'])).toEqual({ out: 'a ', blocked: true });
    expect(run(['the end: class'], ['class'])).toEqual({ out: 'the end: ', blocked: true });
  });

  it('passes text through unchanged when no term occurs, one character at a time', () => {
    const text = 'Falconry is an old art; falcons are fast.';
    expect(run([...text], ['falcon'])).toEqual({ out: text, blocked: false });
  });
});
