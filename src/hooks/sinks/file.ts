import { spawn } from 'node:child_process';
import type { HookConfig } from '../../config/schema/hooks.ts';
import type { HookEvent, HookResponse } from '../types.ts';
import { HookRefusal, type HookSink, parseHookAnswer } from './sink.ts';

type FileHookConfig = Extract<HookConfig, { type: 'file' }>;
const maxOutput = 1024 * 1024;

/**
 * tusd's file hooks: runs `command <event>` with the hook JSON on stdin. Exit 0 with JSON (or
 * nothing) on stdout is its answer; a non-zero exit refuses the request; a timeout, a crash or a
 * command that cannot start is a failure.
 */
export class FileHookSink implements HookSink {
  readonly type = 'file';
  readonly name: string;
  readonly config: FileHookConfig;

  constructor(config: FileHookConfig, name: string) {
    this.config = config;
    this.name = name;
  }

  send(event: HookEvent): Promise<HookResponse> {
    return new Promise((resolve, reject) => {
      // Its own process group, so a timeout also stops what the command started (a curl, say)
      // and the pipes those children hold open.
      const child = spawn(this.config.command, [event.Type], {
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }, this.config.timeout);
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (text: string) => {
        if (stdout.length < maxOutput) stdout += text;
      });
      child.stderr.setEncoding('utf8').on('data', (text: string) => {
        if (stderr.length < 4096) stderr += text;
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        if (timedOut || signal) {
          reject(new Error(`hook command ended by ${signal} (timeout ${this.config.timeout} ms)`));
          return;
        }
        if (code !== 0) {
          let answer: HookResponse = {};
          try {
            answer = parseHookAnswer(stdout);
          } catch {
            // A refusing script need not print JSON.
          }
          reject(
            new HookRefusal(`hook command exited with ${code}: ${stderr.trim().slice(0, 200)}`, {
              ...answer,
              RejectUpload: true,
              RejectTermination: true,
            }),
          );
          return;
        }
        try {
          resolve(parseHookAnswer(stdout));
        } catch (error) {
          reject(error);
        }
      });
      // A command that does not read stdin must not fail the hook (EPIPE).
      child.stdin.on('error', () => {});
      child.stdin.end(JSON.stringify(event));
    });
  }

  async close(): Promise<void> {}
}
