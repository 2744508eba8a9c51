import type { Config } from './schema/index.ts';
import { TokensFileCache } from './tokens-file.ts';

const tokensFiles = new TokensFileCache();

/**
 * Every secret value the config holds, so error reports can blank them wherever they show up
 * (an error message quoting a URL or a header, say).
 */
export function configSecrets(config: Config, files: TokensFileCache = tokensFiles): string[] {
  const secrets: string[] = [];
  if (config.server.adminToken) secrets.push(config.server.adminToken);
  const redisPassword = config.affinity.redis && passwordOf(config.affinity.redis);
  if (redisPassword) secrets.push(redisPassword);
  // Object stores' keys: an SDK error may quote them (a signature mismatch, say).
  for (const store of Object.values(config.stores)) {
    if (store.type === 's3' && store.secretAccessKey) secrets.push(store.secretAccessKey);
    if (store.type === 's3' && store.accessKeyId) secrets.push(store.accessKeyId);
  }
  for (const route of config.routes) {
    const auth = route.auth as Record<string, unknown>;
    if (auth.type === 'static' && auth.tokens && typeof auth.tokens === 'object') {
      secrets.push(...Object.keys(auth.tokens));
    }
    if (auth.type === 'static' && typeof auth.tokensFile === 'string') {
      secrets.push(...tokensIn(auth.tokensFile, files));
    }
    if (typeof auth.secret === 'string') secrets.push(auth.secret);
    for (const hook of route.hooks) {
      if (hook.type === 'http' || hook.type === 'grpc') {
        secrets.push(...Object.values(hook.headers).filter(Boolean));
      }
      if (hook.type === 'amqp') {
        const password = passwordOf(hook.url);
        if (password) secrets.push(password);
      }
    }
  }
  return secrets;
}

function passwordOf(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

/** The tokens of a static tokens file, parsed again only when the file changed. */
function tokensIn(file: string, files: TokensFileCache): string[] {
  try {
    return Object.keys(files.tokens(file, 'tokensFile'));
  } catch {
    return [];
  }
}
