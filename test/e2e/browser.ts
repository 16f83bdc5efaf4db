import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Shared by the end-to-end files: where Chromium and the built renderer are, and how to start them. */
export const rendererDir = fileURLToPath(new URL('../../out/renderer', import.meta.url));
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const haveChromium = fs.existsSync(chromiumPath);
export const mustRun = !!process.env.CI && process.env.CI !== 'false';
/** Screenshots go here, for a person to look at (and CI to keep). */
export const shotsDir = fileURLToPath(new URL('../../test-results/', import.meta.url));

export function checkPrerequisites(): void {
  if (!haveChromium) throw new Error(`No Chromium at ${chromiumPath}, and CI must run the end-to-end tests.`);
  if (!fs.existsSync(path.join(rendererDir, 'index.html')))
    throw new Error(`${rendererDir}/index.html is missing: run \`npx electron-vite build\` first.`);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(shotsDir, { recursive: true });
  const file = path.join(shotsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
