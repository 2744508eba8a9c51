import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import {
  alice,
  finishedUpload,
  type HostileSetup,
  rawConversation,
  startHostileSetup,
  tus,
  watchTusd,
} from './fixture.ts';

/**
 * Request smuggling: one connection carries a PATCH whose framing is ambiguous, and bytes that a
 * reader framing it the other way would take for a second request — an anonymous DELETE of a
 * victim upload and an anonymous creation. Whatever the gateway makes of the framing (a 400 from
 * Node's strict parser that closes the connection, or one request), no smuggled request may reach
 * tusd or the native store: the victim survives, no upload appears, and tusd sees at most the
 * PATCH itself. The connection ends with an OPTIONS asking to close, so a conversation that does
 * not end within 3 s is a hang.
 */
interface SmugglingForm {
  name: string;
  /** The request with its path, authenticated tus headers written by `head`, and the smuggled bytes. */
  build: (head: string, smuggled: string) => string;
  /** Every status on the connection, in order. */
  statuses: number[];
  /** The PATCHed upload's offset afterwards: what the gateway framed as its body (0 when refused). */
  offset?: (smuggled: string) => number;
  /**
   * Bytes of valid chunks before the fault: a backend may keep them, as any tus server keeps what
   * an interrupted PATCH delivered (tusd does, when they reach it before the gateway cuts it off).
   */
  kept?: number;
}

const crlf = '\r\n';
const bytes = (text: string) => Buffer.byteLength(text, 'latin1');
const hex = (text: string) => bytes(text).toString(16);

/** The request head with `lines` as its framing headers, then `body`. */
const framed = (lines: string[], body: (smuggled: string) => string) => (head: string, s: string) =>
  `${head}${lines.map((line) => `${line}${crlf}`).join('')}${crlf}${body(s)}`;
/** A Content-Length that covers `prefix` plus the smuggled bytes, as a front end reading CL sees it. */
const clCoveringAll = (prefix: string) => (s: string) => `Content-Length: ${bytes(prefix + s)}`;

/** A CL.TE pair: Content-Length covers everything, the chunked body ends at once. */
function clTe(teLines: string[]): (head: string, smuggled: string) => string {
  return (head, s) =>
    framed([clCoveringAll(`0${crlf}${crlf}`)(s), ...teLines], () => `0${crlf}${crlf}${s}`)(head, s);
}

/** Content-Length headers for a body `12345` followed by the smuggled bytes. */
function contentLength(lines: string[]): (head: string, smuggled: string) => string {
  return framed(lines, (s) => `12345${s}`);
}

/** Statuses: the PATCH served as one request, then the two smuggled requests refused as anonymous. */
const oneRequest = [204, 401, 401, 200];
/** Node's strict parser: 400 and the connection is closed; nothing after it is read. */
const refused = [400];

const forms: SmugglingForm[] = [
  { name: 'CL.TE', build: clTe(['Transfer-Encoding: chunked']), statuses: refused },
  {
    name: 'TE.CL',
    build: (head, s) =>
      framed(
        ['Transfer-Encoding: chunked', 'Content-Length: 3'],
        () => `${hex(s)}${crlf}${s}${crlf}0${crlf}${crlf}`,
      )(head, s),
    statuses: refused,
  },
  { name: 'CL + TE xchunked', build: clTe(['Transfer-Encoding: xchunked']), statuses: refused },
  {
    name: 'TE xchunked alone',
    build: framed(['Transfer-Encoding: xchunked'], (s) => s),
    statuses: refused,
  },
  { name: 'CL + TE " chunked"', build: clTe(['Transfer-Encoding:  chunked']), statuses: refused },
  { name: 'CL + TE tab chunked', build: clTe(['Transfer-Encoding:\tchunked']), statuses: refused },
  {
    name: 'CL + TE "chunked, identity"',
    build: clTe(['Transfer-Encoding: chunked, identity']),
    statuses: refused,
  },
  {
    name: 'TE "chunked, identity" alone',
    build: framed(['Transfer-Encoding: chunked, identity'], (s) => `0${crlf}${crlf}${s}`),
    statuses: refused,
  },
  {
    name: 'CL + upper-case TRANSFER-ENCODING: CHUNKED',
    build: clTe(['TRANSFER-ENCODING: CHUNKED']),
    statuses: refused,
  },
  {
    name: 'CL + TE sent twice',
    build: clTe(['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked']),
    statuses: refused,
  },
  // Node joins the two lines to `identity, chunked`: chunked is the final coding, so the whole
  // chunk (smuggled bytes included) is upload data of one request.
  {
    name: 'TE identity then TE chunked, no CL (one chunked request)',
    build: framed(
      ['Transfer-Encoding: identity', 'Transfer-Encoding: chunked'],
      (s) => `${hex(s)}${crlf}${s}${crlf}0${crlf}${crlf}`,
    ),
    statuses: [204, 200],
    offset: bytes,
  },
  {
    name: 'CL + space before the colon of TE',
    build: clTe(['Transfer-Encoding : chunked']),
    statuses: refused,
  },
  {
    name: 'CL + tab before the colon of TE',
    build: clTe(['Transfer-Encoding\t: chunked']),
    statuses: refused,
  },
  {
    name: 'CL + TE folded onto another header (obs-fold)',
    build: clTe(['X-Padding: a', ' Transfer-Encoding: chunked']),
    statuses: refused,
  },
  {
    name: 'CL folded (obs-fold) over two lines',
    build: framed(['Content-Length: 5', ` ${bytes('x')}`], (s) => `12345${s}`),
    statuses: refused,
  },
  {
    name: 'CL + TE with a NUL',
    build: clTe(['Transfer-Encoding: chunked\0']),
    statuses: refused,
  },
  {
    name: 'upper-case TRANSFER-ENCODING: CHUNKED alone (one chunked request)',
    build: framed(
      ['TRANSFER-ENCODING: CHUNKED'],
      (s) => `${hex(s)}${crlf}${s}${crlf}0${crlf}${crlf}`,
    ),
    statuses: [204, 200],
    offset: bytes,
  },
  {
    name: 'chunk size negative',
    build: framed(
      ['Transfer-Encoding: chunked'],
      (s) => `-5${crlf}12345${crlf}0${crlf}${crlf}${s}`,
    ),
    statuses: refused,
  },
  {
    name: 'chunk size past 64 bits',
    build: framed(
      ['Transfer-Encoding: chunked'],
      (s) => `1${'0'.repeat(17)}${crlf}12345${crlf}0${crlf}${crlf}${s}`,
    ),
    statuses: refused,
  },
  {
    name: 'chunk size with 0x',
    build: framed(
      ['Transfer-Encoding: chunked'],
      (s) => `0x5${crlf}12345${crlf}0${crlf}${crlf}${s}`,
    ),
    statuses: refused,
  },
  {
    name: 'chunk data longer than its size',
    build: framed(['Transfer-Encoding: chunked'], (s) => `3${crlf}12345${crlf}0${crlf}${crlf}${s}`),
    statuses: refused,
    kept: 3,
  },
  {
    name: 'chunk size followed by a bare LF',
    build: framed(['Transfer-Encoding: chunked'], (s) => `5\n12345${crlf}0${crlf}${crlf}${s}`),
    statuses: refused,
  },
  {
    name: 'TE "chunked" in quotes',
    build: framed(['Transfer-Encoding: "chunked"'], (s) => `0${crlf}${crlf}${s}`),
    statuses: refused,
  },
  {
    name: 'Content-Length with a trailing comma "5,"',
    build: contentLength(['Content-Length: 5,']),
    statuses: refused,
  },
  {
    name: 'HTTP/1.0 request with Transfer-Encoding: chunked',
    build: (head, s) =>
      framed(['Transfer-Encoding: chunked'], () => `0${crlf}${crlf}${s}`)(
        head.replace(' HTTP/1.1', ' HTTP/1.0'),
        s,
      ),
    statuses: refused,
  },
  {
    name: 'duplicate Content-Length, same value',
    build: contentLength(['Content-Length: 5', 'Content-Length: 5']),
    statuses: refused,
  },
  {
    name: 'duplicate Content-Length, different values',
    build: (head, s) => contentLength(['Content-Length: 5', clCoveringAll('12345')(s)])(head, s),
    statuses: refused,
  },
  {
    name: 'Content-Length list "5, 5"',
    build: contentLength(['Content-Length: 5, 5']),
    statuses: refused,
  },
  { name: 'Content-Length +5', build: contentLength(['Content-Length: +5']), statuses: refused },
  { name: 'Content-Length -1', build: contentLength(['Content-Length: -1']), statuses: refused },
  { name: 'Content-Length 0x5', build: contentLength(['Content-Length: 0x5']), statuses: refused },
  { name: 'Content-Length 5.0', build: contentLength(['Content-Length: 5.0']), statuses: refused },
  {
    name: 'Content-Length "5 5"',
    build: contentLength(['Content-Length: 5 5']),
    statuses: refused,
  },
  {
    name: 'Content-Length past 64 bits',
    build: contentLength([`Content-Length: ${'9'.repeat(25)}`]),
    statuses: refused,
  },
  // RFC 9110 §8.6: Content-Length = 1*DIGIT, and field values lose surrounding whitespace (OWS):
  // these three are the length 5 and frame one request.
  {
    name: 'Content-Length padded with spaces (legal OWS)',
    build: contentLength(['Content-Length:    5   ']),
    statuses: oneRequest,
    offset: () => 5,
  },
  {
    name: 'Content-Length padded with a tab (legal OWS)',
    build: contentLength(['Content-Length:\t5']),
    statuses: oneRequest,
    offset: () => 5,
  },
  {
    name: 'Content-Length 05 (legal 1*DIGIT)',
    build: contentLength(['Content-Length: 05']),
    statuses: oneRequest,
    offset: () => 5,
  },
  {
    name: 'bare LF line endings',
    build: (head, s) => `${head.replaceAll(crlf, '\n')}Content-Length: 5\n\n12345${s}`,
    statuses: refused,
  },
  {
    name: 'bare CR inside a header line',
    build: contentLength(['X-Padding: a\rContent-Length: 0', 'Content-Length: 5']),
    statuses: refused,
  },
  {
    name: 'NUL in a header value',
    build: contentLength(['X-Padding: a\0b', 'Content-Length: 5']),
    statuses: refused,
  },
  {
    name: 'absolute-form request target (one request)',
    build: (head, s) =>
      contentLength(['Content-Length: 5'])(head.replace(/^PATCH \//, 'PATCH http://127.0.0.1/'), s),
    statuses: oneRequest,
    offset: () => 5,
  },
  {
    name: 'asterisk-form request target (404, the body is skipped)',
    build: (head, s) =>
      contentLength(['Content-Length: 5'])(head.replace(/^PATCH \S+/, 'PATCH *'), s),
    statuses: [404, 401, 401, 200],
  },
];

const routes = [
  { name: 'proxied', base: '/prx/' },
  { name: 'native', base: '/files/' },
] as const;

describe('request smuggling over raw sockets', () => {
  let setup: HostileSetup;
  const victims = new Map<string, string>();

  before(async () => {
    setup = await startHostileSetup();
    for (const route of routes) {
      const url = await finishedUpload(`${setup.origin}${route.base}`, alice, 'victim');
      victims.set(route.name, new URL(url).pathname);
    }
  });
  after(async () => {
    await setup?.stop();
  });

  for (const route of routes) {
    for (const form of forms) {
      test(`${route.name}: ${form.name}`, async () => {
        const created = await fetch(`${setup.origin}${route.base}`, {
          method: 'POST',
          headers: { ...tus, ...alice, 'Upload-Length': '4096' },
        });
        assert.equal(created.status, 201);
        const target = new URL(created.headers.get('location') ?? '').pathname;
        const victim = victims.get(route.name)!;
        const head = [
          `PATCH ${target} HTTP/1.1`,
          'Host: 127.0.0.1',
          'Tus-Resumable: 1.0.0',
          `Authorization: ${alice.Authorization}`,
          'Upload-Offset: 0',
          'Content-Type: application/offset+octet-stream',
          '',
        ].join(crlf);
        const smuggled = [
          `DELETE ${victim} HTTP/1.1`,
          'Host: 127.0.0.1',
          'Tus-Resumable: 1.0.0',
          '',
          `POST ${route.base} HTTP/1.1`,
          'Host: 127.0.0.1',
          'Tus-Resumable: 1.0.0',
          'Upload-Length: 1',
          '',
          '',
        ].join(crlf);
        const last = `OPTIONS /prx/ HTTP/1.1${crlf}Host: 127.0.0.1${crlf}Connection: close${crlf}${crlf}`;
        const uploadsBefore = await uploadCount(setup);
        const tusd = watchTusd(setup.tusd);

        const conversation = await rawConversation(
          setup.port,
          Buffer.from(form.build(head, smuggled) + last, 'latin1'),
        );

        assert.ok(conversation.closed, `hang: ${conversation.raw.toString('latin1')}`);
        const statuses = conversation.responses.map((response) => response.status);
        assert.ok(
          statuses.every((status) => status < 500),
          `5xx: ${statuses}`,
        );
        assert.deepEqual(statuses, form.statuses, conversation.raw.toString('latin1'));
        for (const response of conversation.responses) {
          if (response.status < 400) continue;
          assert.equal(response.headers.get('tus-resumable'), '1.0.0');
          assert.match(response.body.toString(), /^TUSGATE_ERR_[A-Z_]+: /);
        }
        if (form.statuses[0] === 400) {
          assert.match(conversation.responses[0]!.body.toString(), /^TUSGATE_ERR_BAD_REQUEST: /);
        }
        // tusd saw at most the PATCH itself (and the closing OPTIONS, asked of its collection).
        const seen = tusd.since().filter((request) => request.method !== 'OPTIONS');
        const allowed = route.name === 'proxied' ? target.slice(route.base.length) : undefined;
        for (const request of seen) {
          assert.deepEqual(
            { method: request.method, path: request.path },
            { method: 'PATCH', path: allowed },
            'a smuggled request reached tusd',
          );
        }
        assert.equal(await uploadCount(setup), uploadsBefore, 'a smuggled creation happened');
        const patched = await fetch(`${setup.origin}${target}`, {
          method: 'HEAD',
          headers: { ...tus, ...alice },
        });
        const offsets = [form.offset?.(smuggled) ?? 0];
        if (form.kept !== undefined) offsets.push(form.kept);
        assert.ok(
          offsets.includes(Number(patched.headers.get('upload-offset'))),
          `offset ${patched.headers.get('upload-offset')}, expected one of ${offsets}`,
        );
        for (const path of victims.values()) {
          const alive = await fetch(`${setup.origin}${path}`, {
            method: 'HEAD',
            headers: { ...tus, ...alice },
          });
          assert.equal(alive.status, 200, `victim ${path} is gone`);
        }
      });
    }
  }
});

/**
 * Uploads on both sides: tusd's info files and every file under the native store. tusd's lock
 * files are left out: one may still exist while tusd winds down a PATCH the gateway cut short.
 */
async function uploadCount(setup: HostileSetup): Promise<number> {
  const tusd = await readdir(setup.tusd.dir);
  const native = await readdir(setup.storeRoot, { recursive: true });
  return tusd.filter((name) => name.endsWith('.info')).length + native.length;
}
