// The streaming compressors, one per content coding, at levels chosen for throughput. Measured on
// JavaScript, Markdown and JSON (one core of the 2-core dev VM): zstd 3 (its default) ~280 MB/s
// at ratio 4.6; brotli 4 ~75 MB/s at 4.8 (brotli 5: 45 MB/s at 5.2; 11, its default: 1 MB/s,
// which is for precompressed files, not the request path); gzip 5 ~75 MB/s at 4.96 (gzip 6:
// 56 MB/s at 5.01).

import zlib, { type ZlibOptions } from 'node:zlib';
import type { Transform } from 'node:stream';
import type { Encoding } from '../config/static-schema.ts';

export type Encoder = Transform & { flush(kind?: number | (() => void), callback?: () => void): void };

const C = zlib.constants;
export const LEVELS: Record<Encoding, number> = { zstd: 3, br: 4, gzip: 5 };

const GZIP: ZlibOptions = { level: LEVELS.gzip };

/** `length`, when known, lets brotli size its window to the body instead of 4 MiB. */
export function createEncoder(coding: Encoding, length: number | undefined): Encoder {
  switch (coding) {
    case 'gzip':
      return zlib.createGzip(GZIP);
    case 'br':
      return zlib.createBrotliCompress({
        params: length === undefined
          ? { [C.BROTLI_PARAM_QUALITY]: LEVELS.br }
          : { [C.BROTLI_PARAM_QUALITY]: LEVELS.br, [C.BROTLI_PARAM_SIZE_HINT]: length },
      });
    case 'zstd':
      return zlib.createZstdCompress({ params: { [C.ZSTD_c_compressionLevel]: LEVELS.zstd } });
  }
}

/** Pushes out what the encoder holds, so the client can decode everything written so far. */
export function flushEncoder(encoder: Encoder, coding: Encoding): void {
  // a sync flush keeps gzip's dictionary (a full flush would reset it and cost ratio)
  if (coding === 'gzip') encoder.flush(C.Z_SYNC_FLUSH);
  else encoder.flush();
}
