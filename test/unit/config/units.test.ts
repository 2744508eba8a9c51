import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration, parseListenAddress, parseSize } from '../../../src/config/units.ts';

test('sizes: binary and decimal units, plain bytes, refusals', () => {
  assert.equal(parseSize('100GiB'), 100 * 2 ** 30);
  assert.equal(parseSize('10 MB'), 10_000_000);
  assert.equal(parseSize('1.5KiB'), 1536);
  assert.equal(parseSize(512), 512);
  assert.equal(parseSize('512'), 512);
  for (const bad of ['', 'lots', '-1', '10 parsecs', '1e3', -5, 1.5]) {
    assert.equal(parseSize(bad as string), undefined, `${bad} is refused`);
  }
});

test('durations: units required, compound forms, refusals', () => {
  assert.equal(parseDuration('7d'), 7 * 86_400_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('0'), 0);
  for (const bad of ['', '60', '7 days', 'soon', '5m garbage', 'm5']) {
    assert.equal(parseDuration(bad), undefined, `${bad} is refused`);
  }
});

test('listen addresses', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:1080'), { host: '127.0.0.1', port: 1080 });
  assert.deepEqual(parseListenAddress('[::1]:9102'), { host: '::1', port: 9102 });
  assert.deepEqual(parseListenAddress(':8080'), { host: '0.0.0.0', port: 8080 });
  for (const bad of ['localhost', '1.2.3.4:99999', '1.2.3.4:', 'a:b:c']) {
    assert.equal(parseListenAddress(bad), undefined, `${bad} is refused`);
  }
});
