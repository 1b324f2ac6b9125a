// Imported first by the entry: zod's JIT probe touches `navigator`, which VS Code's extension host
// reports as a PendingMigrationError on every activation. Validation without the JIT is fast enough.
import { config } from 'zod';

config({ jitless: true });
