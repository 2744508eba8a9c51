import type { HookEvent } from '../../types.ts';

/** hook.proto's messages as @grpc/proto-loader gives them (src/hooks/sinks/grpc/service.ts). */
export interface ProtoHookRequest {
  type: string;
  event: {
    upload: Partial<{
      id: string;
      size: number;
      sizeIsDeferred: boolean;
      offset: number;
      metaData: Record<string, string>;
      isPartial: boolean;
      isFinal: boolean;
      partialUploads: string[];
      storage: Record<string, string>;
    }>;
    httpRequest: Partial<{
      method: string;
      uri: string;
      remoteAddr: string;
      header: Record<string, string>;
    }>;
  };
}

export interface ProtoHookResponse {
  httpResponse?: { statusCode?: number; header?: Record<string, string>; body?: string } | null;
  rejectUpload?: boolean;
  stopUpload?: boolean;
  changeFileInfo?: {
    id?: string;
    metaData?: Record<string, string>;
    storage?: Record<string, string>;
  } | null;
}

/**
 * The event as tusd's gRPC hooks send it: each request header with its first value only, and, as
 * Go's protobuf encoder does, no field left at its default on the wire.
 */
export function toProtoRequest(event: HookEvent): ProtoHookRequest {
  const { Upload: upload, HTTPRequest: request } = event.Event;
  const header: Record<string, string> = {};
  for (const [name, values] of Object.entries(request.Header)) {
    if (name !== '' && values[0] !== undefined) header[name] = values[0];
  }
  return {
    type: event.Type,
    event: {
      upload: withoutDefaults({
        id: upload.ID,
        size: upload.Size,
        sizeIsDeferred: upload.SizeIsDeferred,
        offset: upload.Offset,
        metaData: upload.MetaData,
        isPartial: upload.IsPartial,
        isFinal: upload.IsFinal,
        partialUploads: upload.PartialUploads ?? [],
        storage: upload.Storage ?? {},
      }),
      httpRequest: withoutDefaults({
        method: request.Method,
        uri: request.URI,
        remoteAddr: request.RemoteAddr,
        header,
      }),
    },
  };
}

/** Leaves out false, 0, '' and empty lists and maps (protobufjs would send explicit zeros). */
function withoutDefaults<T extends object>(message: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(message).filter(
      ([, value]) =>
        value !== false &&
        value !== 0 &&
        value !== '' &&
        !(Array.isArray(value) && value.length === 0) &&
        !(typeof value === 'object' && value !== null && Object.keys(value).length === 0),
    ),
  ) as Partial<T>;
}

/**
 * A HookResponse message in the shape of an HTTP hook's JSON answer, for the same answer handling
 * (src/hooks/answer.ts). Proto3 sends no empty value, so, as tusd reads it, a zero status, an empty
 * body, id or map means "not set" (an empty metaData map keeps the metadata).
 */
export function fromProtoResponse(response: ProtoHookResponse): Record<string, unknown> {
  const answer: Record<string, unknown> = {};
  const http = response.httpResponse;
  if (http) {
    const httpResponse: Record<string, unknown> = {};
    if (http.statusCode) httpResponse.StatusCode = http.statusCode;
    if (http.body) httpResponse.Body = http.body;
    if (http.header && Object.keys(http.header).length > 0) httpResponse.Header = http.header;
    answer.HTTPResponse = httpResponse;
  }
  if (response.rejectUpload) answer.RejectUpload = true;
  if (response.stopUpload) answer.StopUpload = true;
  const change = response.changeFileInfo;
  if (change) {
    const changeFileInfo: Record<string, unknown> = {};
    if (change.id) changeFileInfo.ID = change.id;
    if (change.metaData && Object.keys(change.metaData).length > 0) {
      changeFileInfo.MetaData = change.metaData;
    }
    if (change.storage && Object.keys(change.storage).length > 0) {
      changeFileInfo.Storage = change.storage;
    }
    answer.ChangeFileInfo = changeFileInfo;
  }
  return answer;
}
