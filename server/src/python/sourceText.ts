// Decoding Python source bytes the way Python does (PEP 263 / PEP 3120): UTF-8 by default, a BOM
// means UTF-8, and a `# -*- coding: latin-1 -*-` cookie on line 1 or 2 names another encoding.
// Invalid bytes never throw: they become U+FFFD, so analysis degrades to "some characters unknown".

const COOKIE = /^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)/;

export function decodePythonSource(bytes: Uint8Array): string {
  let start = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  let encoding = 'utf-8';
  if (start === 0) {
    // The cookie is ASCII, so reading the first two lines as latin1 is safe whatever the encoding.
    const head = new TextDecoder('latin1').decode(bytes.subarray(0, Math.min(bytes.length, 400))).split(/\r\n|\r|\n/, 2);
    for (const line of head) {
      const m = COOKIE.exec(line);
      if (m) { encoding = m[1]!.toLowerCase(); break; }
      if (!/^[ \t\f]*(#.*)?$/.test(line)) break; // the cookie must be in a comment-only line
    }
  }
  try {
    return new TextDecoder(encoding, { fatal: false }).decode(bytes.subarray(start));
  } catch {
    // Unknown encoding name: Python would refuse the file; we read it as UTF-8 with replacements.
    return new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(start));
  }
}
