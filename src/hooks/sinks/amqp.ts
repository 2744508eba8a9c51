import { randomUUID } from 'node:crypto';
import { type ChannelModel, type ConfirmChannel, connect } from 'amqplib';
import type { HookConfig } from '../../config/schema/hooks.ts';
import type { HookEvent, HookResponse } from '../types.ts';
import type { HookSink } from './sink.ts';

type AmqpHookConfig = Extract<HookConfig, { type: 'amqp' }>;

/**
 * Publishes post-* events to a durable exchange as persistent messages on a confirm channel: a
 * send resolves only once the broker has taken the message. The connection is opened on first
 * use and again after the broker closed it; a failed send is retried by the delivery queue, so a
 * broker restart loses nothing (a message confirmed just before the cut may arrive twice).
 */
export class AmqpHookSink implements HookSink {
  readonly type = 'amqp';
  readonly name: string;
  readonly config: AmqpHookConfig;
  #connecting: Promise<ConfirmChannel> | undefined;
  #connection: ChannelModel | undefined;
  #closed = false;

  constructor(config: AmqpHookConfig, name: string) {
    this.config = config;
    this.name = name;
  }

  async send(event: HookEvent): Promise<HookResponse> {
    const channel = await this.#channel();
    const { content, options } = this.#message(event);
    const routingKey = this.config.routingKey.replaceAll('{event}', event.Type);
    await new Promise<void>((resolve, reject) => {
      // A blocked broker or a half-open connection never confirms: give up, and start over.
      const timer = setTimeout(() => {
        reject(new Error(`no confirm from the broker within ${this.config.timeout} ms`));
        void this.#renew();
      }, this.config.timeout);
      channel.publish(this.config.exchange, routingKey, content, options, (error: unknown) => {
        clearTimeout(timer);
        if (error) reject(error instanceof Error ? error : new Error(String(error)));
        else resolve();
      });
    });
    return {};
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#renew();
  }

  /** Drops the current connection; the next send (unless closed) opens a new one. */
  async #renew(): Promise<void> {
    const connection = this.#connection;
    this.#connection = undefined;
    this.#connecting = undefined;
    await connection?.close().catch(() => {});
  }

  #channel(): Promise<ConfirmChannel> {
    if (this.#closed) return Promise.reject(new Error('the AMQP hook is closed'));
    this.#connecting ??= this.#open().catch((error: unknown) => {
      this.#connecting = undefined;
      throw error;
    });
    return this.#connecting;
  }

  async #open(): Promise<ConfirmChannel> {
    // Heartbeats notice a connection that died without a FIN.
    const connection = await connect(withHeartbeat(this.config.url), { timeout: 5_000 });
    const forget = () => {
      if (this.#connection === connection) {
        this.#connection = undefined;
        this.#connecting = undefined;
      }
    };
    // 'error' always comes with 'close'; listening keeps it from becoming an uncaught exception.
    connection.on('error', () => {});
    connection.on('close', forget);
    this.#connection = connection;
    try {
      const channel = await connection.createConfirmChannel();
      channel.on('error', () => {});
      channel.on('close', () => {
        forget();
        void connection.close().catch(() => {});
      });
      await channel.assertExchange(this.config.exchange, this.config.exchangeType, {
        durable: true,
      });
      return channel;
    } catch (error) {
      forget();
      await connection.close().catch(() => {});
      throw error;
    }
  }

  #message(event: HookEvent) {
    const json = JSON.stringify(event);
    const base = {
      persistent: true,
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      timestamp: Math.floor(Date.now() / 1000),
      type: event.Type,
    };
    if (this.config.format === 'json') {
      return { content: Buffer.from(json), options: { ...base, messageId: randomUUID() } };
    }
    // Celery message protocol 2: headers describe the task, the body is [args, kwargs, embed].
    const id = randomUUID();
    const task = this.config.task.replaceAll('{event}', event.Type);
    const body = [[event], {}, { callbacks: null, errbacks: null, chain: null, chord: null }];
    return {
      content: Buffer.from(JSON.stringify(body)),
      options: {
        ...base,
        messageId: id,
        correlationId: id,
        headers: {
          lang: 'py',
          task,
          id,
          shadow: null,
          eta: null,
          expires: null,
          group: null,
          group_index: null,
          retries: 0,
          timelimit: [null, null],
          root_id: id,
          parent_id: null,
          argsrepr: `(<${event.Type} ${event.Event.Upload.ID}>,)`,
          kwargsrepr: '{}',
          origin: 'tusgate',
          ignore_result: true,
        },
      },
    };
  }
}

function withHeartbeat(url: string): string {
  return /[?&]heartbeat=/.test(url) ? url : `${url}${url.includes('?') ? '&' : '?'}heartbeat=30`;
}
