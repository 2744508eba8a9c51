import type { IncomingMessage } from 'node:http';
import type { Backend, RequestContext } from '../backends/types.ts';
import { ownershipUnavailable, TusgateError } from '../errors.ts';
import type { AffinityEntry, AffinityStore } from './affinity/affinity-store.ts';
import { unownedUploadsOf } from './affinity/unowned-uploads.ts';
import type { CompiledRoute } from './routing.ts';

export interface PlacementDeps {
  affinity: AffinityStore;
}

/**
 * Which backend serves a request. Placement is decided once, when an upload is created; every
 * later request goes to the backend that holds the upload: native ids (UUIDv7) say so by their
 * shape, other ids are looked up in the affinity table, and the rest belong to the route's legacy
 * backend (uploads made before tusgate, see `locate` for who may use them).
 */
export async function selectBackend(
  route: CompiledRoute,
  req: IncomingMessage,
  ctx: RequestContext,
  deps: PlacementDeps,
): Promise<Backend> {
  // Discovery answers alike for every id: looking the id up would tell who owns what.
  if (ctx.tus.method === 'OPTIONS') return route.createBackend;
  if (ctx.uploadId !== null) {
    const id = ctx.uploadId;
    const { backend, principal, length, entry } = await locate(route, id, deps);
    // Ownership of proxied uploads: another principal's upload does not exist for this one.
    if (principal != null && principal !== ctx.principal) {
      throw new TusgateError('TUSGATE_ERR_UPLOAD_NOT_FOUND');
    }
    if (length != null) ctx.uploadLength = length;
    else if (entry) {
      // A deferred length, declared by a later PATCH: kept so the upload is seen to finish.
      ctx.recordUploadLength = (value) => deps.affinity.set(id, { ...entry, length: value });
    }
    return backend;
  }
  if (ctx.tus.method !== 'POST') return route.createBackend;
  return placeCreation(route, req, ctx, deps);
}

/**
 * The backend holding an upload, and its owner when the affinity table knows it. The table is
 * asked first whenever the route has a legacy backend: it records every upload a legacy backend
 * created, so a legacy server that also makes UUIDv7 ids is not mistaken for the native store.
 *
 * Fails closed: a table that cannot answer is a 503, never "no owner"; and on a route with auth,
 * a legacy id with no record is a 404 unless the route declares it a pre-tusgate upload
 * (`unownedUploads`). Only a route without auth, whose backend the id's shape already tells, is
 * served while the table is down: it has no owner to check.
 */
async function locate(
  route: CompiledRoute,
  id: string,
  deps: PlacementDeps,
): Promise<{
  backend: Backend;
  principal?: string | null;
  length?: number | null;
  entry?: AffinityEntry;
}> {
  let native: Backend | undefined;
  let legacy: Backend | undefined;
  let legacyCount = 0;
  for (const backend of route.backends.values()) {
    if (backend.kind === 'native') native ??= backend;
    else {
      legacy ??= backend;
      legacyCount++;
    }
  }
  if (legacy === undefined) return { backend: native ?? route.createBackend };
  let recorded: AffinityEntry | undefined;
  try {
    recorded = await deps.affinity.get(id);
  } catch (error) {
    const shapeTells = legacyCount === 1 && !native?.recognisesId(id);
    if (route.authenticator === null && shapeTells) return { backend: legacy };
    throw ownershipUnavailable(error);
  }
  const backend = recorded && route.backends.get(recorded.backend);
  if (recorded && backend) {
    return { backend, principal: recorded.principal, length: recorded.length, entry: recorded };
  }
  if (native?.recognisesId(id)) return { backend: native };
  if (recorded === undefined && route.authenticator !== null && !isPreTusgate(route, id)) {
    throw new TusgateError('TUSGATE_ERR_UPLOAD_NOT_FOUND');
  }
  return { backend: legacy, principal: recorded?.principal, length: recorded?.length };
}

function isPreTusgate(route: CompiledRoute, id: string): boolean {
  try {
    return unownedUploadsOf(route.config.unownedUploads)?.allows(id) ?? false;
  } catch (error) {
    // The ids file became unreadable after a reload: neither "open" nor "gone" is known.
    throw ownershipUnavailable(error);
  }
}

async function placeCreation(
  route: CompiledRoute,
  req: IncomingMessage,
  ctx: RequestContext,
  deps: PlacementDeps,
): Promise<Backend> {
  const concat = ctx.tus.concat;
  if (concat.kind === 'final') return placeFinal(route, concat.ids, ctx, deps);

  const canary = route.canary;
  const override = canary?.config.override;
  if (override) {
    const wanted = header(req, override.header);
    if (wanted !== undefined) {
      const allowed =
        override.allow.includes(ctx.principal ?? '') || override.allow.includes(ctx.client.address);
      const backend = route.backends.get(wanted);
      if (allowed && backend) return backend;
      ctx.log.debug({ wanted, allowed }, 'backend override ignored');
    }
  }
  if (!canary) return route.createBackend;

  const stickyKey =
    ctx.principal ??
    (canary.config.stickyHeader ? header(req, canary.config.stickyHeader) : undefined) ??
    ctx.client.address;
  // The partial uploads of one file are separate creations that must meet on one backend: they
  // are placed by the client's stable key even when the canary is not sticky.
  const sticky = canary.config.sticky === 'principal' || concat.kind === 'partial';
  const onCanary = canary.chooseCanary(sticky ? stickyKey : undefined);
  return onCanary ? route.backends.get(canary.config.backend)! : route.createBackend;
}

/**
 * A final upload goes where its partial uploads are (the ids the parser took from Upload-Concat,
 * the same ids the backend is sent); partials split over backends are a 400, and another
 * principal's partial upload does not exist (404).
 */
async function placeFinal(
  route: CompiledRoute,
  ids: readonly string[],
  ctx: RequestContext,
  deps: PlacementDeps,
): Promise<Backend> {
  const owners = new Set<Backend>();
  for (const id of ids) {
    const { backend, principal } = await locate(route, id, deps);
    if (principal != null && principal !== ctx.principal) {
      throw new TusgateError('TUSGATE_ERR_UPLOAD_NOT_FOUND');
    }
    owners.add(backend);
  }
  if (owners.size > 1) throw new TusgateError('TUSGATE_ERR_CONCAT_SPLIT');
  return [...owners][0]!;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
