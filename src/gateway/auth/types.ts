import type { IncomingMessage } from 'node:http';

/**
 * Turns a request into a principal, or throws a TusgateError (401/403/503).
 * Returns null on routes without authentication.
 */
export interface Authenticator {
  authenticate(req: IncomingMessage): Promise<string | null>;
  close?(): Promise<void>;
}

export const noAuth: Authenticator = {
  authenticate: async () => null,
};
