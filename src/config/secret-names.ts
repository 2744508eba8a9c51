import type { AuthConfig } from './schema/index.ts';

/**
 * Names (of headers, JSON keys, fields) whose values are credentials, in any case. The one list
 * every place that keeps secrets in follows: error reports (observability/scrub.ts) blank them,
 * the hook journal never writes them to disk. Object stores' keys (S3's secretAccessKey,
 * accessKeyId and sessionToken, a GCS service account's private_key, credentials) are among them.
 */
const secretName =
  /^(?:authorization|proxy-authorization|cookie|set-cookie|x-api-key|api[-_]?key|(?:x-)?(?:auth|access|refresh|id|security)?[-_]?token|password|passwd|secret|client[-_]?secret|jwt|session(?:id)?|galaxysession|dsn|secret[-_]?access[-_]?key|access[-_]?key[-_]?id|session[-_]?token|connection[-_]?string|account[-_]?key|private[-_]?key|credentials)$/i;

export function isSecretName(name: string): boolean {
  return secretName.test(name);
}

/**
 * The request headers a route's auth reads credentials from, lowercased: beyond the names above,
 * a static route's own `header` (e.g. `X-Job-Files-Token`) and what a galaxy route forwards.
 */
export function credentialHeadersOf(auth: AuthConfig): string[] {
  switch (auth.type) {
    case 'static':
      return [auth.header.toLowerCase()];
    case 'galaxy':
      return auth.forwardHeaders.map((name) => name.toLowerCase());
    case 'jwt':
      return ['authorization'];
    case 'none':
      return [];
  }
}

/** Every route's credential headers. */
export function configCredentialHeaders(config: { routes: { auth: AuthConfig }[] }): string[] {
  return [...new Set(config.routes.flatMap((route) => credentialHeadersOf(route.auth)))];
}
