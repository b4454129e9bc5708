/**
 * Debian's Chromium for the browser tests (DEVELOPERS.md): headless, with a fresh profile of the test's own, and the
 * flags that keep it from reaching the network by itself. Never downloads a browser; `CHROMIUM_SKIP` says why a test
 * is skipped on a machine without one (CI installs the chromium package).
 */
import fs from "node:fs";
import { type BrowserContext, chromium } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
export const CHROMIUM_SKIP: string | false = fs.existsSync(CHROMIUM)
  ? false
  : `no browser at ${CHROMIUM} (CI installs the chromium package)`;

export async function launchChromium(
  profileDir: string,
  options: { args?: readonly string[]; viewport?: { width: number; height: number } } = {},
): Promise<BrowserContext> {
  const browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: options.viewport ?? { width: 1280, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      ...(options.args ?? []),
    ],
  });
  // A loaded machine can be slow; nothing here measures speed.
  browser.setDefaultTimeout(60_000);
  return browser;
}
