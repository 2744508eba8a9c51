import { join } from 'node:path';
import { loadPackageDefinition, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

/** tusd's hook.proto, next to this module in src/ and in dist/ (the build copies it). */
export const hookProtoFile = join(import.meta.dirname, 'hook.proto');

let service: ServiceClientConstructor | undefined;

/**
 * The HookHandler service of tusd's hook.proto, loaded at run time. Field names as the proto
 * spells them, int64 as numbers, fields the sender left at their default absent (proto3 cannot
 * tell them apart from unset anyway).
 */
export function hookHandlerService(): ServiceClientConstructor {
  if (!service) {
    const definition = loadSync(hookProtoFile, { keepCase: true, longs: Number, defaults: false });
    const root = loadPackageDefinition(definition) as {
      proto: { HookHandler: ServiceClientConstructor };
    };
    service = root.proto.HookHandler;
  }
  return service;
}
