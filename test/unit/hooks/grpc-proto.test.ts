import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadSync } from '@grpc/proto-loader';
import { fromProtoResponse, toProtoRequest } from '../../../src/hooks/sinks/grpc/messages.ts';
import { hookProtoFile } from '../../../src/hooks/sinks/grpc/service.ts';
import { hookEvent } from '../../helpers/hook-event.ts';

/**
 * tusd v2.10.0's pkg/hooks/grpc/proto/hook.proto, as a table: the package, the method path and
 * every message (all in package `proto`) with its field names, numbers, types and labels. This is the wire contract; our own
 * hook.proto must describe exactly it.
 */
const contract = {
  method: '/proto.HookHandler/InvokeHook',
  messages: {
    HookRequest: ['type=1 string', 'event=2 Event'],
    Event: ['upload=1 FileInfo', 'httpRequest=2 HTTPRequest'],
    FileInfo: [
      'id=1 string',
      'size=2 int64',
      'sizeIsDeferred=3 bool',
      'offset=4 int64',
      'metaData=5 map<string,string>',
      'isPartial=6 bool',
      'isFinal=7 bool',
      'partialUploads=8 repeated string',
      'storage=9 map<string,string>',
    ],
    FileInfoChanges: [
      'id=1 string',
      'metaData=2 map<string,string>',
      'storage=3 map<string,string>',
    ],
    HTTPRequest: [
      'method=1 string',
      'uri=2 string',
      'remoteAddr=3 string',
      'header=4 map<string,string>',
    ],
    HookResponse: [
      'httpResponse=1 HTTPResponse',
      'rejectUpload=2 bool',
      'stopUpload=3 bool',
      'changeFileInfo=4 FileInfoChanges',
    ],
    HTTPResponse: ['statusCode=1 int64', 'header=2 map<string,string>', 'body=3 string'],
  },
};

interface FieldDescriptor {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
}
interface MessageDescriptor {
  name: string;
  field: FieldDescriptor[];
  nestedType: { name: string; options?: { mapEntry?: boolean }; field: FieldDescriptor[] }[];
}

const scalar: Record<string, string> = {
  TYPE_STRING: 'string',
  TYPE_INT64: 'int64',
  TYPE_BOOL: 'bool',
};

test('our hook.proto is tusd v2.10.0 hook.proto on the wire', () => {
  const definition = loadSync(hookProtoFile, { keepCase: true });
  const method = definition['proto.HookHandler'] as unknown as Record<string, { path: string }>;
  assert.deepEqual(Object.keys(method), ['InvokeHook']);
  assert.equal(method.InvokeHook?.path, contract.method);
  const messages = Object.keys(definition)
    .filter((name) => name.startsWith('proto.') && name !== 'proto.HookHandler')
    .map((name) => name.slice('proto.'.length))
    .filter((name) => !name.includes('.'));
  assert.deepEqual(messages.sort(), Object.keys(contract.messages).sort());
  for (const [name, fields] of Object.entries(contract.messages)) {
    const descriptor = (definition[`proto.${name}`] as unknown as { type: MessageDescriptor }).type;
    const described = descriptor.field.map((field) => {
      const entry = descriptor.nestedType.find(
        (nested) => nested.name === field.typeName && nested.options?.mapEntry,
      );
      const type = entry
        ? `map<${entry.field.map((part) => scalar[part.type]).join(',')}>`
        : (scalar[field.type] ?? field.typeName);
      const repeated = !entry && field.label === 'LABEL_REPEATED' ? 'repeated ' : '';
      return `${field.name}=${field.number} ${repeated}${type}`;
    });
    assert.deepEqual(described, fields, name);
  }
});

test('an event becomes a HookRequest as tusd builds it: first header values, no default values', () => {
  const event = hookEvent('post-create', 'abc', 0);
  event.Event.HTTPRequest.Header = { Authorization: ['a', 'b'], 'X-Empty': [] };
  event.Event.Upload.MetaData = { filename: 'x' };
  assert.deepEqual(toProtoRequest(event), {
    type: 'post-create',
    event: {
      upload: { id: 'abc', size: 100, metaData: { filename: 'x' } },
      httpRequest: {
        method: 'PATCH',
        uri: '/files/abc',
        remoteAddr: '127.0.0.1',
        header: { Authorization: 'a' },
      },
    },
  });
});

test('a HookResponse reads as the JSON answer would; unset (zero) fields change nothing', () => {
  assert.deepEqual(fromProtoResponse({}), {});
  assert.deepEqual(
    fromProtoResponse({
      rejectUpload: true,
      httpResponse: { statusCode: 0, body: '', header: {} },
      changeFileInfo: { id: '', metaData: {}, storage: { path: 'p' } },
    }),
    { RejectUpload: true, HTTPResponse: {}, ChangeFileInfo: { Storage: { path: 'p' } } },
  );
});
