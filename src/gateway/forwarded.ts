import type { IncomingMessage } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import type { ClientInfo } from '../backends/types.ts';

/**
 * `host[:port]` as it may go into a Location: a DNS-style name (letters, digits, `-`, `_`, dots
 * between labels), an IPv4 address or a bracketed IPv6 address, and an optional port 1-65535.
 * Stricter than RFC 3986's reg-name on purpose: whatever is accepted here is written back to
 * clients in URLs, so quotes, `/`, `#`, `$` and friends never are.
 */
export function isValidHost(text: string): boolean {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+)(?::([0-9]{1,5}))?$/.exec(text);
  if (!match) return false;
  const [, name = '', port] = match;
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return false;
  if (name.startsWith('[')) return isIPv6(name.slice(1, -1));
  if (isIPv4(name)) return true;
  return /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/.test(
    name,
  );
}

/**
 * Works out who the client is. X-Forwarded-* headers are believed only when the TCP peer is a
 * trusted proxy (nginx); from anyone else they are replaced, so a client cannot forge its address.
 */
export function clientInfo(req: IncomingMessage, trustedProxies: ReadonlySet<string>): ClientInfo {
  const peerAddress = req.socket.remoteAddress ?? 'unknown';
  // tusgate terminating TLS itself (server.tls): the client spoke https to it.
  const socketProto = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  const trusted = (address: string) =>
    trustedProxies.has(address) || trustedProxies.has(withoutMappedPrefix(address));
  const peerIsTrusted = trusted(peerAddress);
  // HTTP/1.0 requests may carry no Host at all; a Host that is there must be well-formed.
  const hostHeader = req.headers.host ?? 'localhost';
  if (!peerIsTrusted) {
    return {
      address: peerAddress,
      peerAddress,
      peerIsTrusted,
      forwardedFor: peerAddress,
      proto: socketProto,
      host: hostHeader,
      hostIsValid: isValidHost(hostHeader),
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
    proto: proto === undefined ? socketProto : proto === 'https' ? 'https' : 'http',
    host: host ?? hostHeader,
    hostIsValid: isValidHost(host ?? hostHeader),
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
