// Imported first by the entry: zod's JIT probes `new Function`, which the panel's CSP (no
// 'unsafe-eval') blocks and reports as a violation. Validation without the JIT is fast enough.
import { config } from 'zod';

config({ jitless: true });
