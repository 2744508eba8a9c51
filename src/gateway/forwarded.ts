import type { IncomingMessage } from 'node:http';
import type { ClientInfo } from './context.ts';

/**
 * Works out who the client is. X-Forwarded-* headers are believed only when the TCP peer is a
 * trusted proxy (nginx); from anyone else they are replaced, so a client cannot forge its address.
 */
export function clientInfo(req: IncomingMessage, trustedProxies: ReadonlySet<string>): ClientInfo {
  const peerAddress = req.socket.remoteAddress ?? 'unknown';
  const trusted = (address: string) =>
    trustedProxies.has(address) || trustedProxies.has(withoutMappedPrefix(address));
  const peerIsTrusted = trusted(peerAddress);
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
  // Each proxy appends the address it saw: the client is the rightmost entry no trusted proxy
  // wrote. Entries to its left are whatever the client sent, and are not believed.
  let address = peerAddress;
  for (let index = chain.length - 1; index >= 0; index--) {
    address = chain[index] as string;
    if (!trusted(address)) break;
  }
  return {
    address,
    peerAddress,
    peerIsTrusted,
    forwardedFor: [...chain, peerAddress].join(', '),
    proto: proto === 'https' ? 'https' : 'http',
    host: host && /^[A-Za-z0-9.:[\]_-]+$/.test(host) ? host : hostHeader,
  };
}

/** `::ffff:10.0.0.5` (an IPv4 peer on a dual-stack socket) is `10.0.0.5`. */
function withoutMappedPrefix(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
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
