// `npm test` needs the addon; build it when it is missing or older than its sources, so a fresh
// clone and an edited C++ file both work without a separate step.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addon = join(root, 'native', 'build', 'Release', 'ane_native.node');
const sources = [join(root, 'native', 'binding.gyp'), ...readdirSync(join(root, 'native', 'src')).map((f) => join(root, 'native', 'src', f))];
const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs));
if (!existsSync(addon) || statSync(addon).mtimeMs < newest) {
  console.log('building the native addon (node-gyp)...');
  execFileSync(process.execPath, [join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'), 'rebuild', '--directory', 'native'], {
    cwd: root, stdio: 'inherit',
  });
}
