import { connect as connectPlain, type Socket } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';

/**
 * A bare HTTP/2 client over TLS (or h2c) that writes frames as given, for requests node:http2 refuses to
 * send (bad pseudo-headers, DATA past Content-Length). Header blocks use HPACK literals without
 * indexing or Huffman (RFC 7541 §6.2.2), so any name or value goes on the wire as is.
 */
export interface RawOutcome {
  /** The response's :status on stream 1, when one came (0 otherwise). */
  status: number;
  /** RST_STREAM code for stream 1, when it was reset. */
  rstCode?: number;
  /** GOAWAY error code, when the server ended the connection. */
  goawayCode?: number;
}

const FRAME_DATA = 0x0;
const FRAME_HEADERS = 0x1;
const FRAME_RST_STREAM = 0x3;
const FRAME_SETTINGS = 0x4;
const FRAME_GOAWAY = 0x7;
const FLAG_END_STREAM = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_ACK = 0x1;

export function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(stream, 5);
  return Buffer.concat([header, payload]);
}

function hpackInteger(value: number, prefixBits: number, firstByte: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByte | value]);
  const bytes = [firstByte | max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

export function headerBlock(headers: [string, string][]): Buffer {
  return Buffer.concat(
    headers.flatMap(([name, value]) => [
      Buffer.from([0x00]),
      hpackInteger(Buffer.byteLength(name), 7, 0),
      Buffer.from(name),
      hpackInteger(Buffer.byteLength(value), 7, 0),
      Buffer.from(value),
    ]),
  );
}

export function headersFrame(headers: [string, string][], endStream: boolean): Buffer {
  const flags = FLAG_END_HEADERS | (endStream ? FLAG_END_STREAM : 0);
  return frame(FRAME_HEADERS, flags, 1, headerBlock(headers));
}

export function dataFrame(payload: Buffer, endStream: boolean): Buffer {
  return frame(FRAME_DATA, endStream ? FLAG_END_STREAM : 0, 1, payload);
}

/** RFC 7541 Appendix B codes of the digits, the only characters a :status holds. */
const huffmanDigits: [string, number, number][] = [
  ['0', 0b00000, 5],
  ['1', 0b00001, 5],
  ['2', 0b00010, 5],
  ['3', 0b011001, 6],
  ['4', 0b011010, 6],
  ['5', 0b011011, 6],
  ['6', 0b011100, 6],
  ['7', 0b011101, 6],
  ['8', 0b011110, 6],
  ['9', 0b011111, 6],
];

function huffmanDigitsDecode(bytes: Buffer): string {
  let bits = '';
  for (const byte of bytes) bits += byte.toString(2).padStart(8, '0');
  let out = '';
  let at = 0;
  while (out.length < 3) {
    const found = huffmanDigits.find(
      ([, code, length]) => bits.slice(at, at + length) === code.toString(2).padStart(length, '0'),
    );
    if (!found) break;
    out += found[0];
    at += found[2];
  }
  return out;
}

const staticStatus: Record<number, number> = {
  8: 200,
  9: 204,
  10: 206,
  11: 304,
  12: 400,
  13: 404,
  14: 500,
};

/** The :status of a server's first header block (it comes first, from the static table or a literal). */
function statusOf(block: Buffer): number {
  const first = block[0] ?? 0;
  if (first & 0x80) return staticStatus[first & 0x7f] ?? -1;
  const index = (first & 0xc0) === 0x40 ? first & 0x3f : first & 0x0f;
  if (index < 8 || index > 14) return -1;
  const lengthByte = block[1] ?? 0;
  const length = lengthByte & 0x7f;
  const value = block.subarray(2, 2 + length);
  return Number(lengthByte & 0x80 ? huffmanDigitsDecode(value) : value.toString());
}

/**
 * Opens a connection, sends the preface, SETTINGS and `frames`, and reads until stream 1 has an
 * answer (its response headers, a reset) or the connection ends.
 */
export function rawH2Exchange(
  port: number,
  ca: Buffer | undefined,
  frames: Buffer[],
): Promise<RawOutcome> {
  return new Promise((resolve, reject) => {
    // Without a CA: h2c, the preface sent at once on a plain connection (prior knowledge).
    const socket: Socket = ca
      ? connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: ['h2'] })
      : connectPlain({ host: '127.0.0.1', port });
    const outcome: RawOutcome = { status: 0 };
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no answer on stream 1 in 10 s'));
    }, 10_000);
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    socket.once(ca ? 'secureConnect' : 'connect', () => {
      if (ca && (socket as TLSSocket).alpnProtocol !== 'h2') {
        reject(new Error(`ALPN chose ${(socket as TLSSocket).alpnProtocol}`));
        return;
      }
      socket.write(
        Buffer.concat([
          Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
          frame(FRAME_SETTINGS, 0, 0, Buffer.alloc(0)),
          ...frames,
        ]),
      );
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 9) {
        const length = buffered.readUIntBE(0, 3);
        if (buffered.length < 9 + length) break;
        const type = buffered[3];
        const flags = buffered[4] ?? 0;
        const stream = buffered.readUInt32BE(5) & 0x7fffffff;
        const payload = buffered.subarray(9, 9 + length);
        buffered = buffered.subarray(9 + length);
        if (type === FRAME_SETTINGS && !(flags & FLAG_ACK)) {
          socket.write(frame(FRAME_SETTINGS, FLAG_ACK, 0, Buffer.alloc(0)));
        } else if (type === FRAME_HEADERS && stream === 1 && outcome.status === 0) {
          outcome.status = statusOf(payload);
          if (flags & FLAG_END_STREAM) return done();
        } else if (type === FRAME_DATA && stream === 1 && flags & FLAG_END_STREAM) {
          return done();
        } else if (type === FRAME_RST_STREAM && stream === 1) {
          outcome.rstCode = payload.readUInt32BE(0);
          return done();
        } else if (type === FRAME_GOAWAY) {
          outcome.goawayCode = payload.readUInt32BE(4);
          return done();
        }
      }
    });
    socket.once('error', reject);
    socket.once('close', done);
  });
}
