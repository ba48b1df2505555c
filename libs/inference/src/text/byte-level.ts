/** GPT-2 byte-level BPE: the printable character standing for each byte, and back. */
function buildByteMaps(): { toChar: string[]; toByte: Map<string, number> } {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const toChar: string[] = new Array<string>(256);
  const toByte = new Map<string, number>();
  bs.forEach((b, i) => {
    const ch = String.fromCodePoint(cs[i]);
    toChar[b] = ch;
    toByte.set(ch, b);
  });
  return { toChar, toByte };
}

const MAPS = buildByteMaps();

/** The raw bytes of a byte-level token string, or null when it is not one. */
export function byteLevelBytes(token: string): number[] | null {
  const out: number[] = [];
  for (const ch of token) {
    const b = MAPS.toByte.get(ch);
    if (b === undefined) return null;
    out.push(b);
  }
  return out;
}
