// The real-editor test: the packaged extension in code-server, driven through Debian's Chromium.
// It checks what a user sees: the ANE026 squiggle and its rule id, the "▶ Run on ANE" lens, the timing
// panel a click on it opens, and a click on a layer row taking the cursor to that layer's source line.
// Screenshots of every step go to test-results/editor/ (open them: they are the point of this test).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, FrameLocator, Page } from 'playwright-core';
import { findTorchPython, NO_TORCH, ROOT } from '../helpers';
import { codeServerMissing, runCodeServerOnce, startCodeServer, type RunningCodeServer } from './codeServer';
import { aneClass, recurrentClass, type ExampleClass } from './exampleFile';
import { packageVsix } from './packageVsix';
import { readRows, waitForPanelRows } from './timingPanel';

const CHROMIUM = process.env.ANE_LENS_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];
const EXAMPLE = process.env.ANE_LENS_EDITOR_EXAMPLE ?? join(ROOT, 'examples', 'sequence_model.py');
/** A VSIX built elsewhere (e.g. a per-platform package) instead of packaging this checkout. */
const PREBUILT_VSIX = process.env.ANE_LENS_EDITOR_VSIX;
const SHOTS = join(ROOT, 'test-results', 'editor');
const FILE_NAME = 'sequence_model.py';

// Generous: the CI machine has 2 cores and runs another test file beside this one.
const STARTUP_MS = 120_000;
const UI_MS = 90_000;
const RUN_MS = 240_000;

function skipReason(): string | undefined {
  if (process.env.ANE_LENS_SKIP_EDITOR === '1') return 'skipped: ANE_LENS_SKIP_EDITOR=1';
  const missing = codeServerMissing();
  if (missing) return `skipped: ${missing}`;
  if (!existsSync(CHROMIUM)) return `skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set ANE_LENS_CHROMIUM)`;
  return undefined;
}

const SKIP = skipReason();
const torchPython = SKIP ? null : findTorchPython();

// Skips are set on each test rather than on the suite, so the runner counts them as skipped.
const RUN_SKIP = SKIP ?? (torchPython ? undefined : NO_TORCH);

describe('real editor: code-server + Chromium', () => {
  let temp = '';
  let server: RunningCodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let target: ExampleClass;
  let recurrent: ExampleClass;
  let shot = 0;

  async function screenshot(name: string): Promise<string> {
    shot += 1;
    const file = join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file });
    return file;
  }

  /** Runs a step; on failure saves a screenshot and adds what the window shows to the error. */
  async function step<T>(name: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (err) {
      let extra = '';
      try {
        const file = await screenshot(`FAILED-${name}`);
        const toasts = await page.locator('.notifications-toasts .notification-toast').allInnerTexts();
        extra = `\n  screenshot: ${file}${toasts.length ? `\n  notifications: ${toasts.join(' | ')}` : ''}`;
      } catch { /* the page itself may be gone */ }
      if (server) extra += `\n  code-server log: ${server.logFile}; extension logs: ${join(SHOTS, 'logs')}`;
      throw new Error(`step "${name}" failed: ${(err as Error).message}${extra}`, { cause: err });
    }
  }

  before(async () => {
    if (SKIP) return;
    rmSync(SHOTS, { recursive: true, force: true });
    mkdirSync(SHOTS, { recursive: true });
    temp = mkdtempSync(join(tmpdir(), 'ane-lens-editor-'));
    const text = readFileSync(EXAMPLE, 'utf8');
    const found = aneClass(text);
    assert.ok(found, `${EXAMPLE} has no nn.Module class with a "# ane: inputs=" pragma and no recurrent layer to run`);
    target = found;
    const withLstm = recurrentClass(text);
    assert.ok(withLstm, `${EXAMPLE} has no nn.Module class with an nn.LSTM/GRU/RNN and a "# ane: inputs=" pragma`);
    recurrent = withLstm;

    const vsix = PREBUILT_VSIX ?? join(temp, 'ane-lens.vsix');
    if (!PREBUILT_VSIX) await packageVsix(join(temp, 'stage'), vsix, STARTUP_MS);
    const userDataDir = join(temp, 'user-data');
    const extensionsDir = join(temp, 'extensions');
    await runCodeServerOnce(
      ['--user-data-dir', userDataDir, '--extensions-dir', extensionsDir, '--install-extension', vsix],
      temp, STARTUP_MS,
    );

    const workspace = join(temp, 'workspace');
    mkdirSync(join(workspace, '.vscode'), { recursive: true });
    cpSync(EXAMPLE, join(workspace, FILE_NAME));
    const settings: Record<string, unknown> = {
      // Keep the window quiet: no welcome page, no gallery prompts covering the editor.
      'workbench.startupEditor': 'none',
      'extensions.ignoreRecommendations': true,
      'workbench.tips.enabled': false,
      'chat.disableAIFeatures': true,
      'workbench.secondarySideBar.defaultVisibility': 'hidden',
      // Sticky scroll repeats class lines (and their line numbers) over the top of the editor.
      'editor.stickyScroll.enabled': false,
    };
    if (torchPython) settings['aneLens.pythonPath'] = torchPython;
    writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify(settings, null, 2));

    server = await startCodeServer({
      home: temp, userDataDir, extensionsDir, workspace, logFile: join(SHOTS, 'code-server.log'), timeoutMs: STARTUP_MS,
    });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: STARTUP_MS });
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.setDefaultTimeout(UI_MS);
    await page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}`, { timeout: STARTUP_MS });
    await step('workbench', async () => {
      await page.locator('.monaco-workbench').waitFor({ timeout: STARTUP_MS });
      // The empty secondary side bar (chat is disabled) would squeeze the editor and the timing panel.
      const auxiliaryBar = page.locator('.part.auxiliarybar');
      if (await auxiliaryBar.isVisible()) {
        await page.keyboard.press('Control+Alt+KeyB');
        await auxiliaryBar.waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => undefined);
      }
      await screenshot('workbench');
    });
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    if (temp) {
      // The extension host's logs (the extension's output channel among them) help when a step failed.
      const logs = join(temp, 'user-data', 'logs');
      if (existsSync(logs)) cpSync(logs, join(SHOTS, 'logs'), { recursive: true });
      rmSync(temp, { recursive: true, force: true });
    }
  });

  it('shows the ANE026 diagnostic with its rule id and the "Run on ANE" lens', { timeout: 5 * UI_MS, skip: SKIP }, async () => {
    await step('open file', async () => {
      const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: FILE_NAME });
      await row.waitFor();
      await row.click();
      await page.locator('.monaco-editor .view-lines', { hasText: 'class' }).first().waitFor();
      await screenshot('file-open');
    });

    await step('squiggle', async () => {
      await page.locator('.monaco-editor .squiggly-error, .monaco-editor .squiggly-warning').first().waitFor();
      await screenshot('squiggle');
    });

    await step('problems panel', async () => {
      await page.locator('[id="status.problems"]').click();
      const rows = page.locator('.markers-panel .monaco-list-row');
      const lstm = rows.filter({ hasText: 'ANE026' }).first();
      await lstm.waitFor();
      const texts = await rows.allInnerTexts();
      assert.ok(texts.some((t) => /ANE026/.test(t)), `Problems panel has no ANE026 row: ${texts.join(' | ')}`);
      await screenshot('problems');
      // Opening the problem scrolls the editor to the nn.LSTM line, so its squiggle can be hovered next.
      await lstm.click();
      // Toggle the panel closed again: the editor and the timing panel need the room.
      await page.locator('[id="status.problems"]').click();
      await page.locator('.markers-panel').waitFor({ state: 'hidden' });
    });

    await step('hover', async () => {
      // The squiggle is an overlay under the text; moving the mouse over its position shows the hover. On the
      // project's CI a single mouse pass once showed no hover for 90 s (not reproduced here, cause unknown), so
      // the pointer leaves and comes back, then falls back to the keyboard's Show Hover at the squiggle.
      const editorBox = await page.locator('.monaco-editor .overflow-guard').first().boundingBox();
      assert.ok(editorBox, 'no editor on screen');
      const visibleSquiggle = async (): Promise<{ x: number; y: number } | undefined> => {
        const squiggles = page.locator('.monaco-editor .squiggly-error');
        const count = await squiggles.count();
        for (let i = 0; i < count; i++) {
          const box = await squiggles.nth(i).boundingBox();
          if (box && box.y >= editorBox.y && box.y + box.height <= editorBox.y + editorBox.height) {
            return { x: box.x + Math.min(box.width / 2, 40), y: box.y + box.height / 2 };
          }
        }
        return undefined;
      };
      const hover = page.locator('.monaco-hover:visible', { hasText: /ANE\d{3}/ }).first();
      // The text is read as soon as the hover shows: a hover can close again (the editor refreshes it when
      // diagnostics are republished), and a later read would wait for one that never comes back.
      let text: string | undefined;
      const shown = async (ms: number) => (text = await hover.innerText({ timeout: ms }).catch(() => undefined)) !== undefined;
      const tried: string[] = [];
      let found = false;
      for (let attempt = 0; attempt < 4 && !found; attempt++) {
        const spot = await visibleSquiggle();
        assert.ok(spot, 'no error squiggle inside the visible editor after opening the ANE026 problem');
        await page.mouse.move(editorBox.x + 5, editorBox.y + 5);
        await page.mouse.move(spot.x - 10, spot.y);
        await page.mouse.move(spot.x, spot.y, { steps: 5 });
        tried.push(`mouse at (${Math.round(spot.x)}, ${Math.round(spot.y)})`);
        found = await shown(8_000);
      }
      if (!found) {
        const spot = await visibleSquiggle();
        assert.ok(spot, 'the error squiggle left the visible editor');
        await page.mouse.click(spot.x, spot.y);
        await page.keyboard.press('Control+KeyK');
        await page.keyboard.press('Control+KeyI');
        tried.push(`Show Hover (Ctrl+K Ctrl+I) with the cursor at (${Math.round(spot.x)}, ${Math.round(spot.y)})`);
        found = await shown(20_000);
      }
      if (!found) {
        const hovers = await page.locator('.monaco-hover:visible').allInnerTexts();
        assert.fail(`no hover naming a rule over the error squiggle; tried ${tried.join('; ')}; `
          + `visible hovers: ${hovers.length ? hovers.join(' | ') : 'none'}`);
      }
      assert.match(text ?? '', /ANE026/, `the hover over the nn.LSTM squiggle does not name ANE026: ${text}`);
      await screenshot('hover');
      await page.keyboard.press('Escape');
      await page.mouse.move(editorBox.x + 5, editorBox.y + 5);
    });

    await step('code lens', async () => {
      // Back to the top, where the file's first classes and their lenses are.
      await page.locator('.monaco-editor .view-lines').first().click();
      await page.keyboard.press('Control+Home');
      const lens = page.locator('.codelens-decoration a', { hasText: 'Run on ANE' }).filter({ visible: true });
      await lens.first().waitFor();
      assert.ok((await lens.count()) >= 1);
      await screenshot('code-lens');
    });

    await step('typing', async () => {
      // Edit the LayerNorm's eps=1e-12 (ANE005) to 1e-5 by typing, then back: the warning count follows each
      // version, through the incremental parse and the block cache of the real server.
      const problems = page.locator('[id="status.problems"]');
      const warnings = async () => Number((await problems.innerText()).match(/\d+/g)?.[1] ?? NaN);
      const until = async (want: number, what: string) => {
        // Generous: a loaded CI machine re-analyses slower than a desktop, and a pass costs only its wait.
        const deadline = Date.now() + 30_000;
        while ((await warnings()) !== want && Date.now() < deadline) await page.waitForTimeout(100);
        assert.equal(await warnings(), want, what);
      };
      const before = await warnings();
      await page.keyboard.press('Control+G');
      await page.keyboard.type('32:64');
      await page.keyboard.press('Enter');
      await page.keyboard.press('Backspace');
      await page.keyboard.press('Backspace');
      await page.keyboard.type('5');
      await until(before - 1, 'ANE005 is gone after typing eps=1e-5');
      await screenshot('typed');
      await page.keyboard.press('Backspace');
      await page.keyboard.type('12');
      await until(before, 'ANE005 is back after typing eps=1e-12 again');
      // The text is the file's again; saving leaves it as it was for the tests that follow.
      await page.keyboard.press('Control+S');
      await page.keyboard.press('Control+Home');
    });
  });

  let panel: FrameLocator | undefined;

  it('runs the ANE class from its lens and shows the timing panel', { timeout: RUN_MS + 2 * UI_MS, skip: RUN_SKIP }, async () => {
    await step('click lens', async () => {
      const lens = await lensAboveLine(page, target.line);
      await lens.click();
    });

    panel = await step('timing panel', () => waitForPanelRows(page, RUN_MS));
    await screenshot('timing-panel');

    const rows = await step('read rows', () => readRows(panel!));
    assert.ok(rows.length >= 1, 'the timing panel shows no layer rows');
    for (const row of rows) assert.match(row.device, /^(ANE|GPU|CPU)$/, `row ${row.name} has device "${row.device}"`);
    const known = rows.find((r) => target.layerAttributes.some((a) => r.name.includes(a)));
    assert.ok(known, `no row names a layer of ${target.name} (${target.layerAttributes.join(', ')}); rows: ${rows.map((r) => r.name).join(', ')}`);
  });

  it('clicking a layer row moves the cursor to its source line', { timeout: 2 * UI_MS, skip: RUN_SKIP }, async () => {
    assert.ok(panel, 'the timing panel did not open in the previous test');
    const rows = await readRows(panel);
    const selection = page.locator('[id="status.editor.selection"]');
    // The item is absent while the webview has focus; do not wait for it.
    const before = (await selection.count()) > 0 ? await selection.innerText() : '';
    const currentLine = Number(/Ln (\d+)/.exec(before)?.[1] ?? 0);
    // Only rows that point into the open file: the status bar then speaks about the same editor.
    const withSource = rows.filter((r) => r.sourceLine !== undefined && r.source.startsWith(`${FILE_NAME}:`));
    assert.ok(withSource.length > 0, `no row has a source location: ${rows.map((r) => `${r.name}=${r.source}`).join(', ')}`);
    const pick = withSource.find((r) => r.sourceLine !== currentLine) ?? withSource[0];

    await step('click row', async () => {
      await panel!.locator(`tr.layer[data-position="${pick.position}"]`).click();
      await page.locator('[id="status.editor.selection"]', { hasText: new RegExp(`Ln ${pick.sourceLine},`) }).waitFor();
      await screenshot('row-revealed');
    });
    const text = await selection.innerText();
    assert.match(text, new RegExp(`Ln ${pick.sourceLine}, Col \\d+`), `status bar says "${text}" after clicking ${pick.name} (${pick.source})`);
  });

  it('runs the recurrent class: its LSTM falls back to the CPU with ANE026 in the panel', { timeout: RUN_MS + 2 * UI_MS, skip: RUN_SKIP }, async () => {
    await step('click recurrent lens', async () => {
      const lens = await lensAboveLine(page, recurrent.line);
      await lens.click();
    });
    const frame = await step('recurrent panel', async () => {
      const found = await waitForPanelRows(page, RUN_MS, recurrent.name);
      await found.locator('tr.layer.off-ane', { hasText: 'ANE026' }).first().waitFor();
      return found;
    });
    await screenshot('recurrent-panel');
    const rows = await readRows(frame);
    const lstmRow = rows.find((r) => r.device === 'CPU' && r.reason.includes('ANE026'));
    assert.ok(lstmRow, `no CPU row in the ${recurrent.name} run: ${rows.map((r) => `${r.name}=${r.device}`).join(', ')}`);
    // The other layers can run on the ANE; when the segmenter keeps one on the CPU for cost, the panel says why.
    for (const row of rows) {
      if (row === lstmRow || row.device === 'ANE') continue;
      assert.match(row.reason, /segmenter kept it/, `${recurrent.name}: ${row.name} is on ${row.device} without a cost reason`);
    }
  });
});

/**
 * The "Run on ANE" lens that belongs to `line`: lenses are view zones right above their line. Measured until
 * it holds: after an edit the editor asks for the lenses again and lays their view zones out anew, so a
 * single measurement can land between two layouts.
 */
async function lensAboveLine(page: Page, line: number, timeoutMs = 20_000) {
  // Bring the line into view first: only visible lines and lenses are in the DOM.
  await page.locator('.monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+Home');
  const lineNumbered = (n: number) => page.locator('.monaco-editor .margin-view-overlays .line-numbers', { hasText: new RegExp(`^${n}$`) });
  // The editor renders the scroll on a later frame: until line 1 is drawn, the old view is still measured.
  await lineNumbered(1).first().waitFor();
  const lineNumber = lineNumbered(line);
  for (let i = 0; i < 200 && (await lineNumber.count()) === 0; i++) await page.keyboard.press('PageDown');
  const lenses = page.locator('.codelens-decoration a', { hasText: 'Run on ANE' }).filter({ visible: true });
  await lenses.first().waitFor();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lineBox = await lineNumber.first().boundingBox();
    assert.ok(lineBox, `line ${line} is not visible in the editor`);
    let best: { index: number; gap: number } | undefined;
    const gaps: number[] = [];
    const count = await lenses.count();
    for (let i = 0; i < count; i++) {
      const box = await lenses.nth(i).boundingBox();
      if (!box) continue;
      const gap = lineBox.y - (box.y + box.height);
      gaps.push(Math.round(gap));
      if (gap >= -2 && (!best || gap < best.gap)) best = { index: i, gap };
    }
    if (best && best.gap < lineBox.height * 2) return lenses.nth(best.index);
    const seen = `line ${line} at y=${Math.round(lineBox.y)} (height ${Math.round(lineBox.height)}), lens gaps ${gaps.join(', ') || 'none'}`;
    assert.ok(Date.now() < deadline, `no "Run on ANE" lens right above line ${line} within ${timeoutMs} ms: ${seen}`);
    await page.waitForTimeout(250);
  }
}
