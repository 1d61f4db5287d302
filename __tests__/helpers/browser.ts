import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium. Tests never let playwright download a browser of its own. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a quiet, headless Chromium inside containers and CI. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Whether the browser tests can run here. */
export const chromiumInstalled: boolean = existsSync(CHROMIUM_PATH);

/** Under CI a missing browser is a failure, not a skip. */
export const runningInCI: boolean = process.env['CI'] === 'true';

/** Launch Debian's Chromium through playwright-core. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

/** A response the browser received, body included (empty when it had none, e.g. a redirect). */
export interface SeenResponse {
  url: string;
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Record every response a page (and its frames) receives, with its body, and every
 * console error, CSP violation and uncaught exception.
 */
export function watchPage(page: Page) {
  const responses: SeenResponse[] = [];
  const pending = new Set<Promise<void>>();
  const consoleErrors: string[] = [];
  const pageErrors: string[] = [];
  const requests: { method: string; url: string }[] = [];

  page.on('request', (request) => {
    requests.push({ method: request.method(), url: request.url() });
  });
  page.on('response', (response) => {
    const read = (async () => {
      let body = '';
      try {
        body = (await response.body()).toString('utf8');
      } catch {
        // redirects and aborted loads have no body
      }
      responses.push({ url: response.url(), status: response.status(), headers: await response.allHeaders().catch(() => ({})), body });
    })();
    pending.add(read);
    void read.finally(() => pending.delete(read));
  });
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => {
    pageErrors.push(error.message);
  });

  return {
    responses,
    requests,
    consoleErrors,
    pageErrors,
    /** Wait until every body seen so far has been read. */
    async settled(): Promise<void> {
      while (pending.size > 0) await Promise.all([...pending]);
    },
    /** Requests so far whose path is `path`. */
    count(method: string, path: string): number {
      return requests.filter((r) => r.method === method && new URL(r.url).pathname === path).length;
    },
  };
}

/** Poll `check` until it holds or `timeoutMs` passes; the last failure is thrown. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
