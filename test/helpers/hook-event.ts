import type { HookEvent, HookEventType } from '../../src/hooks/types.ts';

/** A tusd-shaped hook event of a 100-byte upload, for tests of the delivery machinery. */
export function hookEvent(type: HookEventType, id: string, offset = 0): HookEvent {
  return {
    Type: type,
    Event: {
      Upload: {
        ID: id,
        Size: 100,
        SizeIsDeferred: false,
        Offset: offset,
        MetaData: {},
        IsPartial: false,
        IsFinal: false,
        PartialUploads: null,
        Storage: null,
      },
      HTTPRequest: { Method: 'PATCH', URI: `/files/${id}`, RemoteAddr: '127.0.0.1', Header: {} },
    },
  };
}
