import { existsSync } from 'node:fs';

/**
 * Debian's `chromium` (what `.ci/run` installs), or another Chromium/Chrome named by CHROMIUM_PATH:
 * the browser of the web console's tests and of the bench's page-load row (driven by playwright-core).
 */
export function findChromium(): string | undefined {
  const candidates = [
    process.env.CHROMIUM_PATH,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
    '/usr/bin/google-chrome-stable',
  ];
  return candidates.find((c): c is string => !!c && existsSync(c));
}

/** Launch arguments for a headless Chromium in a container (no sandbox, no /dev/shm). */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-dev-shm-usage'];
