import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { type ChannelModel, type ConsumeMessage, connect } from 'amqplib';

export const amqpUrl = 'amqp://guest:guest@127.0.0.1:5672';
const run = promisify(execFile);

export interface QueueConsumer {
  queue: string;
  messages: ConsumeMessage[];
  /** Opens a new connection and consumes again (after the broker closed the old one). */
  reconnect: () => Promise<void>;
  close: () => Promise<void>;
}

/**
 * A durable queue bound to `exchange` with `bindingKey`, consumed with acks. Fails loudly when
 * RabbitMQ is not running: npm test's setup starts it.
 */
export async function consumeQueue(
  exchange: string,
  exchangeType: string,
  bindingKey: string,
): Promise<QueueConsumer> {
  const queue = `tusgate-test-${randomUUID()}`;
  const messages: ConsumeMessage[] = [];
  let connection: ChannelModel | undefined;
  const open = async () => {
    connection = await connect(amqpUrl).catch((error: unknown) => {
      throw new Error(`RabbitMQ is required on 127.0.0.1:5672: ${(error as Error).message}`);
    });
    connection.on('error', () => {});
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    await channel.assertExchange(exchange, exchangeType, { durable: true });
    await channel.assertQueue(queue, { durable: true });
    await channel.bindQueue(queue, exchange, bindingKey);
    await channel.consume(queue, (message) => {
      if (!message) return;
      messages.push(message);
      channel.ack(message);
    });
  };
  await open();
  return {
    queue,
    messages,
    reconnect: open,
    close: async () => {
      if (!connection) return;
      const channel = await connection.createChannel().catch(() => undefined);
      await channel?.deleteQueue(queue).catch(() => {});
      await channel?.deleteExchange(exchange).catch(() => {});
      await connection.close().catch(() => {});
    },
  };
}

/** Closes every client connection from the broker side, as a broker restart would. */
export async function closeAllBrokerConnections(): Promise<void> {
  await run('rabbitmqctl', ['-q', 'close_all_connections', 'tusgate test: broker restart']);
}
