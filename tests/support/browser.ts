// Debian's Chromium driven by playwright-core (no downloaded browsers), headless, with the flags
// this machine's closed network needs; every console error, page error and Content-Security-Policy
// violation is collected.
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.BOXFLEET_CHROMIUM ?? '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}

/** A page at the given width whose console errors and CSP violations land in `errors`. */
export async function openPage(browser: Browser, width: number, errors: string[]): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height: width < 600 ? 844 : 800 } });
  // Chromium also logs violations to the console, in words that change between versions; the event
  // names the directive and where it happened.
  await context.exposeFunction('bfReportCspViolation', (text: string) => errors.push(`csp: ${text}`));
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      const report = (window as unknown as { bfReportCspViolation: (text: string) => void }).bfReportCspViolation;
      void report(`${event.effectiveDirective} refused ${event.blockedURI || 'inline'} (${event.sourceFile}:${event.lineNumber}) ${event.sample}`);
    });
  });
  const page = await context.newPage();
  page.on('console', (message) => message.type() === 'error' && errors.push(`console: ${message.text()}`));
  page.on('pageerror', (error) => errors.push(`page: ${error.message}`));
  return page;
}

/** Signs in on the dashboard at `url` and waits for the Overview. */
export async function signIn(page: Page, url: string, username: string, password: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
}

/** Opens a dashboard tab by its link in the navigation. */
export const nav = (page: Page, name: string) => page.getByRole('navigation').getByRole('link', { name, exact: true }).click();
