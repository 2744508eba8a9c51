import { watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from 'pino';

/**
 * Calls `reload` on SIGHUP and when the file changes; a burst of file events reloads once.
 * Returns a function that stops watching.
 */
export function watchConfig(
  file: string,
  log: Logger,
  reload: (reason: string) => void,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  const schedule = (reason: string) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      log.info({ reason, file }, 'reloading configuration');
      reload(reason);
    }, 200);
  };
  const onSignal = () => schedule('SIGHUP');
  process.on('SIGHUP', onSignal);
  let watcher: ReturnType<typeof watch> | undefined;
  try {
    // Watch the folder: editors replace files by rename, which ends a watch on the file itself.
    const name = basename(file);
    watcher = watch(dirname(resolve(file)), (_event, changed) => {
      if (changed === name) schedule('file changed');
    });
    watcher.unref();
  } catch (error) {
    log.warn({ err: error, file }, 'cannot watch the config file; reload with SIGHUP');
  }
  return () => {
    clearTimeout(timer);
    process.off('SIGHUP', onSignal);
    watcher?.close();
  };
}
