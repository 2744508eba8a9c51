import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { clientInfo } from '../../../src/gateway/forwarded.ts';

function fakeRequest(peer: string, headers: Record<string, string>): IncomingMessage {
  return { socket: { remoteAddress: peer }, headers } as unknown as IncomingMessage;
}

const forged = {
  host: 'gateway.internal:1080',
  'x-forwarded-for': '6.6.6.6',
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'evil.example',
};

test('X-Forwarded-* from a trusted proxy are believed and the chain extended', () => {
  const info = clientInfo(fakeRequest('127.0.0.1', forged), new Set(['127.0.0.1']));
  assert.equal(info.address, '6.6.6.6');
  assert.equal(info.forwardedFor, '6.6.6.6, 127.0.0.1');
  assert.equal(info.proto, 'https');
  assert.equal(info.host, 'evil.example');
});

test('X-Forwarded-* from anyone else are replaced by what the gateway saw', () => {
  const info = clientInfo(fakeRequest('10.1.2.3', forged), new Set(['127.0.0.1']));
  assert.equal(info.address, '10.1.2.3');
  assert.equal(info.forwardedFor, '10.1.2.3');
  assert.equal(info.proto, 'http');
  assert.equal(info.host, 'gateway.internal:1080');
});

test('a malformed forwarded host from a trusted proxy is refused (400), not replaced', () => {
  for (const bad of ['bad host/"x', 'evil.example/#', '"><script>', 'a:0', 'a:65536', '[zz]']) {
    const info = clientInfo(
      fakeRequest('127.0.0.1', { host: 'ok.example', 'x-forwarded-host': bad }),
      new Set(['127.0.0.1']),
    );
    assert.equal(info.hostIsValid, false, bad);
  }
  for (const good of [
    'ok.example',
    'ok.example:443',
    '10.0.0.1:8080',
    '[::1]',
    '[2001:db8::1]:80',
  ]) {
    const info = clientInfo(
      fakeRequest('127.0.0.1', { host: 'h', 'x-forwarded-host': good }),
      new Set(['127.0.0.1']),
    );
    assert.equal(info.hostIsValid, true, good);
    assert.equal(info.host, good);
  }
});

test('a malformed Host from an untrusted peer is refused too', () => {
  const info = clientInfo(fakeRequest('10.1.2.3', { host: '"><script>' }), new Set());
  assert.equal(info.hostIsValid, false);
});

test('the client is the rightmost address no trusted proxy wrote; what it sent itself is not believed', () => {
  const trusted = new Set(['127.0.0.1', '10.0.0.2']);
  // nginx appended the address it saw (203.0.113.9) to what the client claimed (6.6.6.6).
  const spoofed = clientInfo(
    fakeRequest('127.0.0.1', { host: 'h', 'x-forwarded-for': '6.6.6.6, 203.0.113.9' }),
    trusted,
  );
  assert.equal(spoofed.address, '203.0.113.9');
  // Two trusted proxies in a row: the client is still the one before them.
  const chained = clientInfo(
    fakeRequest('127.0.0.1', { host: 'h', 'x-forwarded-for': '203.0.113.9, 10.0.0.2' }),
    trusted,
  );
  assert.equal(chained.address, '203.0.113.9');
});

test('an IPv4 peer on a dual-stack socket matches its IPv4 entry in trustedProxies', () => {
  const info = clientInfo(
    fakeRequest('::ffff:10.0.0.5', { host: 'h', 'x-forwarded-for': '198.51.100.7' }),
    new Set(['10.0.0.5']),
  );
  assert.equal(info.peerIsTrusted, true);
  assert.equal(info.address, '198.51.100.7');
});

test('a client on tusgate’s own TLS listener spoke https; a trusted proxy’s X-Forwarded-Proto still decides', () => {
  const tlsRequest = (peer: string, headers: Record<string, string>) =>
    ({ socket: { remoteAddress: peer, encrypted: true }, headers }) as unknown as IncomingMessage;
  const trusted = new Set(['127.0.0.1']);
  assert.equal(clientInfo(tlsRequest('10.1.2.3', forged), trusted).proto, 'https');
  assert.equal(clientInfo(tlsRequest('127.0.0.1', { host: 'a' }), trusted).proto, 'https');
  const saysHttp = { host: 'a', 'x-forwarded-proto': 'http' };
  assert.equal(clientInfo(tlsRequest('127.0.0.1', saysHttp), trusted).proto, 'http');
  assert.equal(clientInfo(fakeRequest('127.0.0.1', { host: 'a' }), trusted).proto, 'http');
});
