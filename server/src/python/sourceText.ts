// Decoding Python source bytes the way Python does (PEP 263 / PEP 3120): UTF-8 by default, a BOM
// means UTF-8, and a `# -*- coding: latin-1 -*-` cookie on line 1 or 2 names another encoding.
// Invalid bytes never throw: they become U+FFFD, so analysis degrades to "some characters unknown".

const COOKIE = /^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)/;

// Python codec names that are not WHATWG encoding labels (what TextDecoder knows).
const PYTHON_ALIASES: Record<string, string> = {
  'latin-1': 'latin1', 'l1': 'latin1', 'iso-8859-1': 'latin1', 'utf8': 'utf-8', 'ascii': 'utf-8', 'us-ascii': 'utf-8',
  'utf-8-sig': 'utf-8', 'cp1252': 'windows-1252',
};

/** A decoder for a Python codec name, or UTF-8 when TextDecoder does not know it. */
function decoderFor(name: string): TextDecoder {
  const normal = name.toLowerCase().replace(/_/g, '-');
  for (const label of [PYTHON_ALIASES[normal], normal]) {
    if (!label) continue;
    try {
      return new TextDecoder(label, { fatal: false });
    } catch { /* try the next spelling */ }
  }
  // Unknown encoding name: Python would refuse the file; we read it as UTF-8 with replacements.
  return new TextDecoder('utf-8', { fatal: false });
}

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
  return decoderFor(encoding).decode(bytes.subarray(start));
}
