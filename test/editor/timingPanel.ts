// The timing panel as the real-editor tests see it: a webview (an iframe of class "webview", "ready" once
// loaded, holding the extension's page in a nested iframe#active-frame) with one tr.layer per layer.
import type { FrameLocator, Page } from 'playwright-core';

export interface PanelRow { position: number; name: string; device: string; reason: string; source: string; sourceLine?: number }

/**
 * A webview is an iframe (class "webview", "ready" once loaded) whose page holds the extension's HTML
 * in a nested iframe#active-frame. Waits for layer rows there, or fails early with what the panel or
 * a notification says went wrong.
 */
export async function waitForPanelRows(page: Page, timeoutMs: number, modelName?: string): Promise<FrameLocator> {
  const frame = page.frameLocator('iframe.webview.ready').last().frameLocator('#active-frame');
  // With a model name, wait until the panel shows that model's run (the panel may still show the last one).
  const rows = (modelName ? frame.locator('#app', { hasText: modelName }).locator('tr.layer') : frame.locator('tr.layer')).first();
  const panelError = frame.locator('.status .error').first();
  // Only error toasts: code-server's own info toasts are no reason to stop waiting.
  const toast = page.locator('.notifications-toasts .notification-toast').filter({ has: page.locator('.codicon-error') }).first();
  const outcome = await Promise.race([
    rows.waitFor({ timeout: timeoutMs }).then(() => 'rows' as const),
    panelError.waitFor({ timeout: timeoutMs }).then(() => 'panel error' as const),
    toast.waitFor({ timeout: timeoutMs }).then(() => 'notification' as const),
  ]);
  if (outcome === 'rows') return frame;
  const text = outcome === 'panel error' ? await panelError.innerText() : await toast.innerText();
  throw new Error(`the run did not show layer rows; ${outcome}: ${text}`);
}

export async function readRows(frame: FrameLocator): Promise<PanelRow[]> {
  return frame.locator('tr.layer').evaluateAll((trs) => trs.map((tr) => {
    const el = tr as HTMLElement;
    const source = el.querySelector('td.src')?.textContent?.trim() ?? '';
    const m = /:(\d+)$/.exec(source);
    return {
      position: Number(el.dataset.position),
      name: el.querySelector('td.name')?.textContent?.trim() ?? '',
      device: el.querySelector('vscode-badge')?.textContent?.trim() ?? '',
      reason: el.querySelector('td.reason')?.textContent?.trim() ?? '',
      source,
      sourceLine: m && !el.querySelector('td.src.none') ? Number(m[1]) : undefined,
    };
  }));
}
