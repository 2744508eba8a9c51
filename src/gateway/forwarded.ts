import type { IncomingMessage } from 'node:http';
import type { ClientInfo } from './context.ts';

/**
 * Works out who the client is. X-Forwarded-* headers are believed only when the TCP peer is a
 * trusted proxy (nginx); from anyone else they are replaced, so a client cannot forge its address.
 */
export function clientInfo(req: IncomingMessage, trustedProxies: ReadonlySet<string>): ClientInfo {
  const peerAddress = req.socket.remoteAddress ?? 'unknown';
  const peerIsTrusted = trustedProxies.has(peerAddress);
  const hostHeader = req.headers.host ?? 'localhost';
  if (!peerIsTrusted) {
    return {
      address: peerAddress,
      peerAddress,
      peerIsTrusted,
      forwardedFor: peerAddress,
      proto: 'http',
      host: hostHeader,
    };
  }
  const chain = splitList(req.headers['x-forwarded-for']);
  const proto = firstValue(req.headers['x-forwarded-proto'])?.toLowerCase();
  const host = firstValue(req.headers['x-forwarded-host']);
  return {
    address: chain[0] ?? peerAddress,
    peerAddress,
    peerIsTrusted,
    forwardedFor: [...chain, peerAddress].join(', '),
    proto: proto === 'https' ? 'https' : 'http',
    host: host && /^[A-Za-z0-9.:[\]_-]+$/.test(host) ? host : hostHeader,
  };
}

function firstValue(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  return text?.split(',')[0]?.trim() || undefined;
}

function splitList(value: string | string[] | undefined): string[] {
  const text = Array.isArray(value) ? value.join(',') : (value ?? '');
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}
