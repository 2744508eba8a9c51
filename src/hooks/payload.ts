import type { IncomingMessage } from 'node:http';
import { emptyMetadata } from '../tus/headers/upload-metadata.ts';
import type { TusRequest } from '../tus/request.ts';
import { canonicalHeaderName } from './header-names.ts';
import type { HookHttpRequest, HookUpload } from './types.ts';

/**
 * tusd v2's hook payloads, built here and only here: the HTTPRequest part from the request, the
 * Upload part from an upload's stored info (native) or from the parsed tus request (auth hooks,
 * uploads observed on a legacy backend).
 */

/** What a hook payload needs of a request's context (the backends' RequestContext has it). */
export interface HookRequestSource {
  readonly tus: Pick<TusRequest, 'method'>;
  readonly client: { readonly address: string };
}

/** tusd's HTTPRequest of a hook event: method, URI, the end client's address and all headers. */
export function hookRequest(req: IncomingMessage, ctx: HookRequestSource): HookHttpRequest {
  const header: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(req.headersDistinct)) {
    if (values) header[canonicalHeaderName(name)] = values;
  }
  return {
    Method: ctx.tus.method,
    URI: req.url ?? '/',
    RemoteAddr: ctx.client.address,
    Header: header,
  };
}

/** The fields of a stored upload (tusd's FileInfo) a hook sees. */
export interface StoredUploadFields {
  ID: string;
  Size: number;
  SizeIsDeferred: boolean;
  MetaData: Record<string, string>;
  IsPartial: boolean;
  IsFinal: boolean;
  PartialUploads: string[] | null;
  Storage: Record<string, string>;
}

/** A stored upload at `offset`. */
export function hookUploadFromInfo(info: StoredUploadFields, offset: number): HookUpload {
  return {
    ID: info.ID,
    Size: info.Size,
    SizeIsDeferred: info.SizeIsDeferred,
    Offset: offset,
    MetaData: info.MetaData,
    IsPartial: info.IsPartial,
    IsFinal: info.IsFinal,
    PartialUploads: info.PartialUploads,
    Storage: { ...info.Storage },
  };
}

/**
 * An upload as the request describes it: `size` when known elsewhere (null: deferred or not
 * known), the declared length otherwise; metadata only when asked (creation requests carry it).
 */
export function hookUploadFromRequest(
  tus: TusRequest,
  options: {
    id: string;
    size?: number | null;
    offset?: number;
    withMetadata?: boolean;
    storage?: Record<string, string> | null;
  },
): HookUpload {
  const size = options.size === undefined ? (tus.uploadLength ?? null) : options.size;
  return {
    ID: options.id,
    Size: size ?? 0,
    SizeIsDeferred: size === null,
    Offset: options.offset ?? 0,
    MetaData: options.withMetadata === false ? emptyMetadata() : (tus.metadata ?? emptyMetadata()),
    IsPartial: tus.concat.kind === 'partial',
    IsFinal: tus.concat.kind === 'final',
    PartialUploads: tus.concat.kind === 'final' ? [...tus.concat.ids] : null,
    Storage: options.storage ?? null,
  };
}
