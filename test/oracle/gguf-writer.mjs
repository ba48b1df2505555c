// A minimal GGUF v3 writer: header, typed metadata key/values, tensor infos, 32-byte aligned data.
// Tensor dims are written inner-first (ggml's ne); data is row-major like PyTorch, so a Linear
// weight [out][in] has ne = [in, out]. Only F32 tensors are written (type 0).

const T = { UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9, UINT64: 10 };
const ALIGN = 32;

class Buf {
  constructor() {
    this.chunks = [];
    this.length = 0;
  }
  push(b) {
    this.chunks.push(b);
    this.length += b.length;
  }
  u32(v) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    this.push(b);
  }
  i32(v) {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  u64(v) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  f32(v) {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  str(s) {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  pad() {
    const n = (ALIGN - (this.length % ALIGN)) % ALIGN;
    if (n) this.push(Buffer.alloc(n));
  }
  concat() {
    return Buffer.concat(this.chunks, this.length);
  }
}

// Metadata values: {type: 'u32'|'i32'|'f32'|'bool'|'str', value} or
// {type: 'arr', elem: 'str'|'f32'|'i32', value: [...]}.
function writeValue(buf, v) {
  switch (v.type) {
    case 'u32':
      buf.u32(T.UINT32);
      buf.u32(v.value);
      break;
    case 'i32':
      buf.u32(T.INT32);
      buf.i32(v.value);
      break;
    case 'f32':
      buf.u32(T.FLOAT32);
      buf.f32(v.value);
      break;
    case 'bool':
      buf.u32(T.BOOL);
      buf.push(Buffer.from([v.value ? 1 : 0]));
      break;
    case 'str':
      buf.u32(T.STRING);
      buf.str(v.value);
      break;
    case 'arr': {
      buf.u32(T.ARRAY);
      const elemType = { str: T.STRING, f32: T.FLOAT32, i32: T.INT32 }[v.elem];
      if (elemType === undefined) throw new Error(`unsupported array element type ${v.elem}`);
      buf.u32(elemType);
      buf.u64(v.value.length);
      for (const e of v.value) {
        if (v.elem === 'str') buf.str(e);
        else if (v.elem === 'f32') buf.f32(e);
        else buf.i32(e);
      }
      break;
    }
    default:
      throw new Error(`unsupported metadata type ${v.type}`);
  }
}

// metadata: [[key, value]...]; tensors: [{name, shape (PyTorch order), data: Float32Array}]
export function ggufBytes(metadata, tensors) {
  const buf = new Buf();
  buf.push(Buffer.from('GGUF', 'latin1'));
  buf.u32(3);
  buf.u64(tensors.length);
  buf.u64(metadata.length);
  for (const [key, value] of metadata) {
    buf.str(key);
    writeValue(buf, value);
  }
  let offset = 0;
  const offsets = [];
  for (const t of tensors) {
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== numel) throw new Error(`${t.name}: ${t.data.length} values for shape ${t.shape}`);
    buf.str(t.name);
    buf.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) buf.u64(d);
    buf.u32(0); // GGML_TYPE_F32
    buf.u64(offset);
    offsets.push(offset);
    offset += numel * 4;
    offset += (ALIGN - (offset % ALIGN)) % ALIGN;
  }
  buf.pad();
  const dataStart = buf.length;
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i];
    if (buf.length - dataStart !== offsets[i]) throw new Error('gguf writer: offset bookkeeping');
    const b = Buffer.alloc(t.data.length * 4);
    for (let j = 0; j < t.data.length; j++) b.writeFloatLE(t.data[j], j * 4);
    buf.push(b);
    buf.pad();
  }
  return buf.concat();
}
