// Doc links for rule ids: the file:// URI of docs/rules/<ID>.md under the install root, so the link
// works offline from the VSIX. The bundle lives in <root>/dist; tests run from <root>/out/test/...,
// so we walk up from this file to the first directory that has docs/rules.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

let installRoot: string | undefined;

export function ruleDocsRoot(): string {
  if (installRoot) return installRoot;
  const start = typeof __dirname === 'string' ? __dirname : process.cwd();
  for (let dir = start, i = 0; i < 10; i++) {
    if (existsSync(join(dir, 'docs', 'rules'))) return (installRoot = dir);
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  // Not found (a stripped install): still point where the VSIX layout puts the pages.
  return (installRoot = join(start, '..'));
}

/** `file:///…/docs/rules/ANE026.md`. */
const docUris = new Map<string, string>();

export function ruleDocUri(id: string): string {
  let uri = docUris.get(id);
  if (uri === undefined) docUris.set(id, (uri = pathToFileURL(join(ruleDocsRoot(), 'docs', 'rules', `${id}.md`)).href));
  return uri;
}
