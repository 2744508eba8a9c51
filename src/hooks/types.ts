import type { hookEventTypes } from '../config/schema/hooks.ts';

/**
 * Upload lifecycle hooks, shaped like tusd v2's hook payload so existing receivers keep working.
 * Backends report events through a HookRunner; sinks (http, amqp, file) live in this folder.
 */
export type HookEventType = (typeof hookEventTypes)[number];

/** tusd's FileInfo as hooks see it. */
export interface HookUpload {
  ID: string;
  Size: number;
  SizeIsDeferred: boolean;
  Offset: number;
  MetaData: Record<string, string>;
  IsPartial: boolean;
  IsFinal: boolean;
  PartialUploads: string[] | null;
  Storage: Record<string, string> | null;
}

export interface HookHttpRequest {
  Method: string;
  URI: string;
  RemoteAddr: string;
  Header: Record<string, string[]>;
}

export interface HookEvent {
  Type: HookEventType;
  Event: { Upload: HookUpload; HTTPRequest: HookHttpRequest };
  /** Set on events tusgate derived from a legacy backend's answers (that server has its own hooks). */
  Observed?: true;
}

/** Marks the answer tusgate itself gives when a pre-* hook could not be asked (never from JSON). */
export const hookUnavailable: unique symbol = Symbol('hook unavailable');

/** What a pre-* hook may answer (tusd's HookResponse). */
export interface HookResponse {
  [hookUnavailable]?: true;
  HTTPResponse?: { StatusCode?: number; Body?: string; Header?: Record<string, string> };
  RejectUpload?: boolean;
  RejectTermination?: boolean;
  ChangeFileInfo?: {
    ID?: string;
    MetaData?: Record<string, string>;
    Storage?: Record<string, string>;
  };
  StopUpload?: boolean;
}

export interface HookRunner {
  /** True when some sink listens for this event (lets backends skip building payloads). */
  wants(type: HookEventType): boolean;
  /** Runs the blocking pre-* hooks of this event; their answers merged in sink order. */
  pre(type: HookEventType, upload: HookUpload, request: HookHttpRequest): Promise<HookResponse>;
  /**
   * Queues a post-* event: at-least-once, retried, never blocks or fails the upload. `onAnswer`
   * sees each sink's answer (post-receive may say StopUpload).
   */
  post(
    type: HookEventType,
    upload: HookUpload,
    request: HookHttpRequest,
    onAnswer?: (answer: HookResponse) => void,
  ): void;
  /** Observed post-* events of an upload on a legacy backend, for sinks that asked for them. */
  observed(type: HookEventType, upload: HookUpload, request: HookHttpRequest): void;
  close(): Promise<void>;
}

export const noHooks: HookRunner = {
  wants: () => false,
  pre: async () => ({}),
  post: () => {},
  observed: () => {},
  close: async () => {},
};
